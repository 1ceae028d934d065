import assert from 'node:assert/strict';
import { test } from 'node:test';
import { age, humanDuration } from '../../../src/cli/printers/age.js';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test('ages read like kubectl: precise while short, coarser as they grow', { timeout: 5_000 }, () => {
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-1 * s, '0s'],
    [0, '0s'],
    [5 * s, '5s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [3 * m + 2 * s, '3m2s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [4 * h + 30 * m, '4h30m'],
    [8 * h, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 5 * h, '2d5h'],
    [10 * d, '10d'],
    [800 * d, '2y70d'],
    [3000 * d, '8y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test('age of a timestamp, and <unknown> without one', { timeout: 5_000 }, () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  assert.equal(age('2024-05-01T11:59:55Z', now), '5s');
  assert.equal(age('2024-04-29T12:00:00Z', now), '2d');
  assert.equal(age(undefined, now), '<unknown>');
  assert.equal(age('yesterday', now), '<unknown>');
});
