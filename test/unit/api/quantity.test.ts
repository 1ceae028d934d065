import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes, formatCpuMilli, isQuantity, parseQuantity, quantityProblem, toMilli } from '../../../src/api/quantity.js';

const opts = { timeout: 5_000 };

describe('parseQuantity', () => {
  const good: [string | number, number][] = [
    ['250m', 0.25],
    ['64Mi', 67108864],
    ['1G', 1e9],
    ['1.5', 1.5],
    ['2e3', 2000],
    ['2E3', 2000],
    ['1e-3', 0.001],
    ['1e+3', 1000],
    ['0', 0],
    ['1', 1],
    ['.5', 0.5],
    ['5.', 5],
    ['+1', 1],
    ['-1', -1],
    ['100n', 1e-7],
    ['100u', 1e-4],
    ['1k', 1000],
    ['1M', 1e6],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1Ti', 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1Ei', 2 ** 60],
    ['0.1', 0.1],
    ['100m', 0.1],
    [2, 2],
    [0.5, 0.5],
    [1e21, 1e21],
  ];
  for (const [q, want] of good) {
    test(`${JSON.stringify(q)} is ${want}`, opts, () => {
      assert.equal(parseQuantity(q), want);
      assert.equal(isQuantity(q), true);
      assert.equal(quantityProblem(q), undefined);
    });
  }

  const bad: [unknown, RegExp][] = [
    ['', /must not be empty/],
    ['abc', /must start with a number/],
    ['.', /must start with a number/],
    ['e3', /must start with a number/],
    ['Mi', /must start with a number/],
    ['--1', /must start with a number/],
    ['1K', /unknown suffix "K" \(did you mean "k" or "Ki"\?\)/],
    ['1KB', /unknown suffix "KB"/],
    ['512MB', /did you mean "M" or "Mi"/],
    ['1e', /unknown suffix "e"/],
    ['1 ', /unknown suffix " "/],
    [' 1', /must start with a number/],
    ['1Mi2', /unknown suffix "Mi2"/],
    ['1.2.3', /unknown suffix ".3"/],
    ['1e3Mi', /unknown suffix "e3Mi"/],
    ['1x', /unknown suffix "x"/],
    ['1e5000', /out of range/],
    [Number.NaN, /finite/],
    [Number.POSITIVE_INFINITY, /finite/],
    [null, /string or a number/],
    [{}, /string or a number/],
  ];
  for (const [q, why] of bad) {
    test(`${String(q)} (${typeof q}) is refused`, opts, () => {
      assert.equal(isQuantity(q), false);
      assert.match(quantityProblem(q) ?? '', why);
      if (typeof q === 'string' || typeof q === 'number') {
        assert.throws(() => parseQuantity(q), (e: Error) => e.message.includes(`invalid quantity ${JSON.stringify(q)}`) && why.test(e.message));
      }
    });
  }
});

describe('toMilli', () => {
  test('is exact for decimal fractions that floating point cannot hold', opts, () => {
    assert.equal(toMilli('0.1'), 100);
    assert.equal(toMilli(0.1), 100);
    assert.equal(toMilli('0.3'), 300);
    assert.equal(toMilli('1.1'), 1100);
    assert.equal(toMilli('250m'), 250);
    assert.equal(toMilli('2'), 2000);
    assert.equal(toMilli('1e-3'), 1);
  });

  test('rounds partial millis away from zero, as Kubernetes MilliValue does', opts, () => {
    assert.equal(toMilli('1.0001'), 1001);
    assert.equal(toMilli('1n'), 1);
    assert.equal(toMilli('100u'), 1);
    assert.equal(toMilli('0.5m'), 1);
    assert.equal(toMilli('-0.5m'), -1);
  });

  test('handles binary suffixes', opts, () => {
    assert.equal(toMilli('64Mi'), 67108864000);
    assert.equal(toMilli('1Ki'), 1024000);
  });

  test('throws on bad input', opts, () => {
    assert.throws(() => toMilli('1K'), /invalid quantity "1K"/);
  });
});

describe('formatting', () => {
  test('formatCpuMilli prints whole cores plainly and the rest in millis', opts, () => {
    assert.equal(formatCpuMilli(250), '250m');
    assert.equal(formatCpuMilli(2000), '2');
    assert.equal(formatCpuMilli(0), '0');
    assert.equal(formatCpuMilli(1500), '1500m');
    assert.equal(formatCpuMilli(0.2), '1m');
  });

  test('formatBytes uses the largest exact suffix, binary first', opts, () => {
    assert.equal(formatBytes(67108864), '64Mi');
    assert.equal(formatBytes(1024), '1Ki');
    assert.equal(formatBytes(3 * 2 ** 30), '3Gi');
    assert.equal(formatBytes(1536 * 2 ** 20), '1536Mi');
    assert.equal(formatBytes(1e9), '1G');
    assert.equal(formatBytes(1500), '1500');
    assert.equal(formatBytes(0), '0');
    assert.equal(formatBytes(1000), '1k');
    assert.equal(formatBytes(0.5), '500m');
  });

  test('formatted values parse back to the same number', opts, () => {
    for (const n of [0, 1, 1023, 1024, 1e9, 67108864, 5 * 2 ** 40, 123456789]) assert.equal(parseQuantity(formatBytes(n)), n);
    for (const m of [1, 250, 1000, 2500, 64000]) assert.equal(toMilli(formatCpuMilli(m)), m);
  });
});
