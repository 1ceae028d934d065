import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isApiError } from '../../../src/api/errors.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, patchTypeOf } from '../../../src/server/patch.js';

test('merge patch follows RFC 7386, including its appendix examples', { timeout: 2_000 }, () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) assert.deepEqual(applyMergePatch(target, patch), want, JSON.stringify({ target, patch }));
});

test('merge patch leaves its inputs unchanged', { timeout: 2_000 }, () => {
  const target = { a: { b: 1 } };
  const patch = { a: { c: 2 } };
  applyMergePatch(target, patch);
  assert.deepEqual(target, { a: { b: 1 } });
  assert.deepEqual(patch, { a: { c: 2 } });
});

test('JSON patch: add, remove, replace, move, copy, test', { timeout: 2_000 }, () => {
  const doc = { metadata: { labels: { a: '1' } }, spec: { list: [1, 2, 3] } };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
    { op: 'remove', path: '/metadata/labels/a' },
    { op: 'replace', path: '/spec/list/0', value: 9 },
    { op: 'add', path: '/spec/list/-', value: 4 },
    { op: 'add', path: '/spec/list/1', value: 8 },
    { op: 'copy', from: '/spec/list', path: '/spec/copy' },
    { op: 'move', from: '/spec/copy', path: '/moved' },
    { op: 'test', path: '/metadata/labels/b~1c', value: '2' },
  ]);
  assert.deepEqual(out, { metadata: { labels: { 'b/c': '2' } }, spec: { list: [9, 8, 2, 3, 4] }, moved: [9, 8, 2, 3, 4] });
  assert.deepEqual(doc.spec.list, [1, 2, 3], 'the target is not changed');
});

test('JSON patch failures are client errors that name the operation', { timeout: 2_000 }, () => {
  const doc = { a: { b: 1 }, l: [1] };
  const bad: [unknown, RegExp, string][] = [
    [{ op: 'add' }, /must be an array/, 'BadRequest'],
    [[{ op: 'add' }], /operation 0: needs string "op" and "path"/, 'BadRequest'],
    [[{ op: 'remove', path: '/nope' }], /operation 0: path does not exist/, 'BadRequest'],
    [[{ op: 'replace', path: '/a/c', value: 1 }], /path does not exist/, 'BadRequest'],
    [[{ op: 'add', path: '/l/5', value: 1 }], /out of range/, 'BadRequest'],
    [[{ op: 'add', path: 'a', value: 1 }], /must start with "\/"/, 'BadRequest'],
    [[{ op: 'replace', path: '/a/b', value: 2 }, { op: 'test', path: '/a/b', value: 1 }], /operation 1: test failed/, 'Invalid'],
    [[{ op: 'frobnicate', path: '/a' }], /unknown op/, 'BadRequest'],
  ];
  for (const [patch, msg, reason] of bad) {
    assert.throws(() => applyJsonPatch(doc, patch), (e: unknown) => isApiError(e) && msg.test(e.message) && e.reason === reason, JSON.stringify(patch));
  }
});

test('strategic merge patch is a merge patch; its directives are refused by name', { timeout: 2_000 }, () => {
  assert.deepEqual(applyStrategicMergePatch({ spec: { a: [1, 2] } }, { spec: { a: [3] } }), { spec: { a: [3] } });
  assert.throws(() => applyStrategicMergePatch({}, { spec: { containers: [{ name: 'x', $patch: 'delete' }] } }), /\$patch at spec\.containers\[0\] is not supported/);
});

test('patch types from Content-Type', { timeout: 2_000 }, () => {
  assert.equal(patchTypeOf('application/merge-patch+json'), 'merge');
  assert.equal(patchTypeOf('application/json-patch+json; charset=utf-8'), 'json');
  assert.equal(patchTypeOf('application/strategic-merge-patch+json'), 'strategic');
  assert.throws(() => patchTypeOf('application/apply-patch+yaml'), (e: unknown) => isApiError(e, 'UnsupportedMediaType'));
  assert.throws(() => patchTypeOf(undefined), (e: unknown) => isApiError(e, 'UnsupportedMediaType'));
});
