import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodePermissions, renderNatsConfig } from '../../../src/server/nats-config.js';

test('a node may publish only its own from-subjects and read only its own to-subjects, what goes to every node, and its inbox', { timeout: 5000 }, () => {
  const p = nodePermissions('pi-1.lan');
  assert.deepEqual(p.publish.allow, ['skiff.from.pi-1_lan.>'], 'publish');
  assert.deepEqual(p.subscribe.allow, ['skiff.to.pi-1_lan.>', 'skiff.all.>', '_INBOX_pi-1_lan.>'], 'subscribe');
  assert.equal(p.allow_responses, true);
});

test('the config maps credential-less clients to the bootstrap user and has no monitor port unless asked', { timeout: 5000 }, () => {
  const base = { host: '127.0.0.1', port: 4222, certFile: '/c', keyFile: '/k', controlPlaneNkey: 'UCP', nodes: [{ nodeName: 'b', nkeyPublic: 'UB' }, { nodeName: 'a', nkeyPublic: 'UA' }] };
  const text = renderNatsConfig(base);
  assert.match(text, /no_auth_user: "bootstrap"/);
  assert.doesNotMatch(text, /^http:/m);
  assert.ok(text.indexOf('"UA"') < text.indexOf('"UB"'), 'node users are sorted so rewrites are stable');
  assert.match(renderNatsConfig({ ...base, monitorPort: 8222 }), /^http: "127.0.0.1:8222"$/m);
});
