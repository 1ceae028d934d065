import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node, Taint } from '../../../src/api/types.js';
import { withConditionTaints } from '../../../src/server/node-lifecycle.js';

const quick = { timeout: 5_000 };
const now = () => new Date('2026-03-04T05:06:07.890Z');

function node(ready: 'True' | 'False' | 'Unknown', taints?: Taint[]): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    spec: taints ? { taints } : {},
    status: { conditions: [{ type: 'Ready', status: ready }] },
  } as Node;
}

const dedicated = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const };

test('Unknown adds unreachable:NoExecute, False not-ready:NoExecute, beside taints set by users', quick, () => {
  assert.deepEqual(withConditionTaints(node('Unknown', [dedicated]), now).spec!.taints, [
    dedicated,
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-03-04T05:06:07Z' },
  ]);
  assert.deepEqual(withConditionTaints(node('False'), now).spec!.taints, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: '2026-03-04T05:06:07Z' }]);
});

test('the same state returns the same object, so nothing is written; timeAdded is kept', quick, () => {
  const tainted = withConditionTaints(node('Unknown'), now);
  assert.equal(withConditionTaints(tainted, () => new Date()), tainted);
  const untainted = node('True');
  assert.equal(withConditionTaints(untainted), untainted);
});

test('Ready again removes the condition taint and keeps the others; False replaces unreachable', quick, () => {
  const lost = withConditionTaints(node('Unknown', [dedicated]), now);
  const back = withConditionTaints({ ...lost, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  assert.deepEqual(back.spec!.taints, [dedicated]);
  const onlyCondition = withConditionTaints(node('Unknown'), now);
  assert.equal(withConditionTaints({ ...onlyCondition, status: { conditions: [{ type: 'Ready', status: 'True' }] } }).spec!.taints, undefined, 'an empty taints list left behind');
  const notReady = withConditionTaints({ ...lost, status: { conditions: [{ type: 'Ready', status: 'False' }] } }, now);
  assert.deepEqual(notReady.spec!.taints!.map((t) => t.key), ['dedicated', 'node.kubernetes.io/not-ready']);
});
