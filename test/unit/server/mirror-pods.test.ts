import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStaticPod } from '../../../src/agent/static-pods.js';
import type { Node, Pod } from '../../../src/api/types.js';
import { mirrorOf, mirrorRefusal } from '../../../src/server/mirror-pods.js';

function staticPod(node = 'edge-1'): Pod {
  const r = parseStaticPod('/m/web.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: docker.io/library/busybox:1.36}]\n', node);
  assert.ok(r.ok, 'the fixture parses');
  return r.pod;
}

test("a node's own static pod may be mirrored", () => {
  assert.equal(mirrorRefusal('edge-1', staticPod()), undefined, 'bound to itself, named after itself, from a file');
});

test('a node may not mirror pods bound to, or named for, another node, or dress a pod up as a mirror', () => {
  const other = staticPod('edge-2');
  assert.match(mirrorRefusal('edge-1', other) ?? '', /spec\.nodeName is "edge-2"/, 'bound to another node');
  const renamed = { ...staticPod(), metadata: { ...staticPod().metadata, name: 'web-edge-2' } };
  assert.match(mirrorRefusal('edge-1', renamed) ?? '', /must end with -edge-1/, 'named for another node');
  const s = staticPod();
  const claimed = { ...s, metadata: { ...s.metadata, annotations: { ...s.metadata.annotations, 'kubernetes.io/config.mirror': 'x' } } };
  assert.match(mirrorRefusal('edge-1', claimed) ?? '', /config\.mirror\] is the control plane's/, 'the mirror annotation is not the node to set');
  const owned = { ...s, metadata: { ...s.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'u' }] } };
  assert.match(mirrorRefusal('edge-1', owned) ?? '', /ownerReferences/, 'owners are refused');
  const bad = { ...s, spec: { ...s.spec, containers: [] } };
  assert.match(mirrorRefusal('edge-1', bad) ?? '', /spec\.containers: Required value/, 'an invalid spec is refused with its field');
});

test('the mirror carries the static UID in config.mirror and is owned by its Node', () => {
  const s = staticPod();
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-1', uid: 'node-uid' } } as Node;
  const m = mirrorOf(s, node);
  assert.equal(m.metadata.uid, undefined, 'the store gives the mirror its own UID');
  assert.equal(m.metadata.annotations?.['kubernetes.io/config.mirror'], s.metadata.uid, 'config.mirror holds the static pod UID');
  assert.equal(m.metadata.annotations?.['kubernetes.io/config.source'], 'file', 'config.source stays');
  assert.deepEqual(m.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'edge-1', uid: 'node-uid', controller: true }], 'owned by the Node');
  assert.equal(m.spec.nodeName, 'edge-1', 'bound to the node');
});
