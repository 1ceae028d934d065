import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseLabelChanges, parseLabelTarget, planLabels } from '../../../src/cli/label.js';
import { parseTaintChanges, planTaints } from '../../../src/cli/taint.js';

const quick = { timeout: 5_000 };

describe('label changes', () => {
  test('k=v sets, k- removes, bad keys and values are all reported', quick, () => {
    assert.deepEqual(parseLabelChanges(['app=web', 'tier-', 'example.com/zone=a']), { set: { app: 'web', 'example.com/zone': 'a' }, remove: ['tier'] });
    assert.throws(() => parseLabelChanges(['-bad=x', 'ok=', 'v=no spaces']), (e: Error) => /"-bad=x"/.test(e.message) && /"v=no spaces"/.test(e.message) && !/"ok="/.test(e.message));
    assert.throws(() => parseLabelChanges(['app=web', 'app-']), /both modify and remove label "app"/);
    assert.throws(() => parseLabelChanges([]), /at least one label update/);
  });

  test('a changed value needs --overwrite and the error names the key', quick, () => {
    const changes = parseLabelChanges(['app=api']);
    assert.throws(() => planLabels({ app: 'web' }, changes, false), /'app' already has a value \(web\), and --overwrite is false/);
    assert.deepEqual(planLabels({ app: 'web' }, changes, true), { patch: { app: 'api' }, missing: [], verb: 'labeled' });
    assert.deepEqual(planLabels({ app: 'api' }, changes, false), { missing: [], verb: 'not labeled' });
  });

  test('removal of present and absent keys', quick, () => {
    assert.deepEqual(planLabels({ a: '1' }, parseLabelChanges(['a-', 'b-']), false), { patch: { a: null }, missing: ['b'], verb: 'unlabeled' });
  });

  test('targets as KIND NAME or KIND/NAME', quick, () => {
    assert.deepEqual(parseLabelTarget(['nodes', 'n1', 'a=b']), { kind: 'nodes', name: 'n1', changes: ['a=b'] });
    assert.deepEqual(parseLabelTarget(['pod/web', 'a-']), { kind: 'pod', name: 'web', changes: ['a-'] });
    assert.throws(() => parseLabelTarget(['nodes', 'a=b']), /you must name the nodes/);
  });
});

describe('taint changes', () => {
  const now = () => new Date('2026-01-02T03:04:05.678Z');

  test('kubectl spellings parse; a bad effect is refused naming the allowed ones', quick, () => {
    assert.deepEqual(parseTaintChanges(['dedicated=gpu:NoSchedule', 'spot:PreferNoSchedule', 'old:NoExecute-', 'gone-']), {
      add: [
        { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
        { key: 'spot', effect: 'PreferNoSchedule' },
      ],
      remove: [{ key: 'old', effect: 'NoExecute' }, { key: 'gone' }],
    });
    assert.throws(() => parseTaintChanges(['k=v:Never']), /invalid taint effect: Never.*NoSchedule, PreferNoSchedule, NoExecute/);
    assert.throws(() => parseTaintChanges(['k=v']), /unknown taint spec/);
  });

  test('adding an existing key and effect needs --overwrite; NoExecute gets timeAdded', quick, () => {
    const current = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const }];
    assert.throws(() => planTaints('n1', current, parseTaintChanges(['dedicated=db:NoSchedule']), false, now), /already has dedicated taint\(s\) with same effect\(s\) and --overwrite is false/);
    assert.deepEqual(planTaints('n1', current, parseTaintChanges(['dedicated=db:NoSchedule']), true, now).taints, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    assert.deepEqual(planTaints('n1', current, parseTaintChanges(['dedicated=db:NoExecute']), false, now), {
      taints: [...current, { key: 'dedicated', value: 'db', effect: 'NoExecute', timeAdded: '2026-01-02T03:04:05Z' }],
      verb: 'tainted',
    });
  });

  test('key- removes every effect, key:Effect- one; a missing taint is an error', quick, () => {
    const current = [
      { key: 'a', effect: 'NoSchedule' as const },
      { key: 'a', effect: 'NoExecute' as const },
    ];
    assert.deepEqual(planTaints('n1', current, parseTaintChanges(['a:NoExecute-']), false), { taints: [current[0]], verb: 'untainted' });
    assert.deepEqual(planTaints('n1', current, parseTaintChanges(['a-']), false), { taints: [], verb: 'untainted' });
    assert.throws(() => planTaints('n1', current, parseTaintChanges(['b-']), false), /taint "b" not found on node n1/);
  });
});
