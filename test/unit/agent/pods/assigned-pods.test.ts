import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignedPods } from '../../../../src/agent/pods/assigned-pods.js';
import type { DesiredPod } from '../../../../src/bus/messages.js';

const pod = (name: string, image = 'busybox'): DesiredPod =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', name, uid: `uid-${name}` }, spec: { containers: [{ name: 'c', image }] } }) as DesiredPod;
const names = (r: ReturnType<AssignedPods['apply']>) => ('pods' in r ? r.pods.map((p) => p.metadata.name).sort() : r);

test('a whole list replaces what the node held; changes apply on top of the revision they name', () => {
  const a = new AssignedPods();
  assert.deepEqual(names(a.apply({ v: 1, nodeName: 'n', revision: 5, pods: [pod('x'), pod('y')] })), ['x', 'y'], 'the whole list');
  const r = a.apply({ v: 1, nodeName: 'n', revision: 9, since: 5, changed: [pod('z'), pod('x', 'nginx')], removed: [{ namespace: 'default', name: 'y' }] });
  assert.deepEqual(names(r), ['x', 'z'], 'y removed, z added');
  assert.ok('pods' in r && r.pods.find((p) => p.metadata.name === 'x')!.spec.containers[0].image === 'nginx', 'x replaced by its new version');
  assert.deepEqual(names(a.apply({ v: 1, nodeName: 'n', revision: 12, pods: [pod('w')] })), ['w'], 'a later whole list drops everything else');
});

test('changes that do not follow the held revision ask for the whole list, at most once a second', () => {
  let now = 1000;
  const a = new AssignedPods(() => now);
  const skipped = { v: 1 as const, nodeName: 'n', revision: 20, since: 15, changed: [pod('q')], removed: [] };
  assert.deepEqual(a.apply(skipped), { ask: true }, 'changes before any whole list cannot apply');
  a.apply({ v: 1, nodeName: 'n', revision: 10, pods: [pod('x')] });
  assert.deepEqual(a.apply(skipped), { ask: true }, 'a missed message (since 15, held 10) asks');
  now += 200;
  assert.deepEqual(a.apply({ ...skipped, revision: 21, since: 20 }), { ask: false }, 'the request is on its way: no second one yet');
  now += 1000;
  assert.deepEqual(a.apply({ ...skipped, revision: 22, since: 21 }), { ask: true }, 'asked again once the first request may have been lost');
  assert.deepEqual(names(a.apply({ v: 1, nodeName: 'n', revision: 22, pods: [pod('x'), pod('q')] })), ['q', 'x'], 'the whole list puts the node back in step');
  assert.deepEqual(names(a.apply({ v: 1, nodeName: 'n', revision: 23, since: 22, changed: [], removed: [{ namespace: 'default', name: 'x' }] })), ['q'], 'and changes apply again');
});
