import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterInfoHmac, joinProof, parseBootstrapToken, redact, sameDigest, secretHash } from '../../../src/bus/bootstrap-auth.js';

test('tokens parse in kubeadm format and malformed ones say what is expected', { timeout: 5000 }, () => {
  assert.deepEqual(parseBootstrapToken('abcdef.0123456789abcdef'), { id: 'abcdef', secret: '0123456789abcdef' });
  const bad = parseBootstrapToken('ABCDEF.zyxwvutsrqponmlk');
  assert.ok('error' in bad);
  assert.match(bad.error, /malformed/);
  assert.doesNotMatch(bad.error, /zyxwvutsrqponmlk/, 'a malformed token message must not echo the secret');
  assert.equal(redact('abcdef.0123456789abcdef'), 'abcdef.<secret>');
});

test('the stored hash does not contain the secret and keys both HMACs', { timeout: 5000 }, () => {
  const h = secretHash('0123456789abcdef');
  assert.match(h, /^sha256:[0-9a-f]{64}$/);
  assert.notEqual(h, secretHash('0123456789abcdeg'));
  const ca = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';
  assert.equal(clusterInfoHmac(h, ca), clusterInfoHmac(h, ca));
  assert.notEqual(clusterInfoHmac(h, ca), clusterInfoHmac(secretHash('0123456789abcdeg'), ca));
});

test('the join proof covers every field of the request', { timeout: 5000 }, () => {
  const h = secretHash('0123456789abcdef');
  const req = { v: 1 as const, tokenId: 'abcdef', nodeName: 'n1', csrPem: 'csr', nkeyPublic: 'UKEY' };
  const p = joinProof(h, req);
  for (const change of [{ nodeName: 'n2' }, { csrPem: 'other' }, { nkeyPublic: 'UOTHER' }, { tokenId: 'abcdeg' }]) {
    assert.notEqual(joinProof(h, { ...req, ...change }), p, JSON.stringify(change));
  }
  // The purpose string separates the two HMACs: a cluster-info HMAC is never a valid proof.
  assert.notEqual(clusterInfoHmac(h, JSON.stringify(req)), p);
  assert.ok(sameDigest(p, joinProof(h, req)));
  assert.ok(!sameDigest(p, p.slice(1)));
});
