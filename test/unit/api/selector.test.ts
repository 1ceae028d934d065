import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import {
  labelSelectorToString,
  parseFieldSelector,
  parseSelector,
  selectorFromLabelSelector,
  selectorFromSet,
  validateLabelSelector,
} from '../../../src/api/selector.js';
import type { KObject, LabelSelector } from '../../../src/api/types.js';

const opts = { timeout: 5_000 };

describe('parseSelector', () => {
  const web = { app: 'web', tier: 'front', env: 'prod' };
  const db = { app: 'db', tier: 'db', env: 'dev' };
  const bare = { app: 'web' };

  const cases: [string, Record<string, string>, boolean][] = [
    ['app=web', web, true],
    ['app=web', db, false],
    ['app==web', web, true],
    ['app!=web', web, false],
    ['app!=web', db, true],
    ['tier!=db', bare, true], // a missing label is "not equal"
    ['env in (prod,staging)', web, true],
    ['env in (prod,staging)', db, false],
    ['env in (prod)', bare, false],
    ['env notin (dev)', web, true],
    ['env notin (dev)', db, false],
    ['env notin (dev)', bare, true],
    ['env', web, true],
    ['env', bare, false],
    ['!env', bare, true],
    ['!env', web, false],
    ['app=web,env in (prod),!debug', web, true],
    ['app=web,env in (dev)', web, false],
    ['app=', { app: '' }, true],
    ['app=', bare, false],
    ['app in ()', { app: '' }, true],
    ['example.com/role=edge', { 'example.com/role': 'edge' }, true],
    ['replicas>2', { replicas: '3' }, true],
    ['replicas>2', { replicas: '2' }, false],
    ['replicas<2', { replicas: '1' }, true],
    ['replicas<2', { replicas: 'x' }, false],
    ['  app = web ,  env  in ( prod , dev ) ', web, true],
  ];
  for (const [text, labels, want] of cases) {
    test(`${JSON.stringify(text)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(labels)}`, opts, () => {
      assert.equal(parseSelector(text).matches(labels), want);
    });
  }

  test('the empty selector matches everything, undefined labels included', opts, () => {
    const s = parseSelector('');
    assert.equal(s.empty, true);
    assert.equal(s.matches(undefined), true);
    assert.equal(s.matches(web), true);
    assert.equal(parseSelector('   ').empty, true);
    assert.equal(parseSelector('app').empty, false);
  });

  test('undefined labels are an empty set', opts, () => {
    assert.equal(parseSelector('!app').matches(undefined), true);
    assert.equal(parseSelector('app=web').matches(undefined), false);
  });

  test('toString is canonical: sorted by key, values sorted', opts, () => {
    assert.equal(
      parseSelector('tier!=db, app=web,env in (b,a),zone notin (x),key,!gone').toString(),
      'app=web,env in (a,b),!gone,key,tier!=db,zone notin (x)',
    );
    assert.equal(parseSelector('a==b').toString(), 'a==b');
    assert.equal(parseSelector('n>3').toString(), 'n>3');
  });

  test('toString round-trips through the parser', opts, () => {
    const text = 'app=web,env in (a,b),!gone,key,tier!=db';
    assert.equal(parseSelector(parseSelector(text).toString()).toString(), text);
  });

  const bad: [string, RegExp][] = [
    ['app=web,', /trailing ","/],
    [',app', /expected a label key, found ","/],
    ['=x', /expected a label key, found "="/],
    ['a b', /after label key "a", found "b"/],
    ['a!', /after label key "a", found "!"/],
    ['a in b', /expected "\(" after "a in", found "b"/],
    ['a in (b', /in the values of "a in", found end of input/],
    ['a in (x y)', /expected "," or "\)" in the values of "a in", found "y"/],
    ['a=b c', /expected "," or the end after "a=b", found "c"/],
    ['a=(b)', /expected a value after "a=", found "\("/],
    ['!', /expected a label key after "!", found end of input/],
    ['a=-x-', /invalid value "-x-" for label "a"/],
    ['a/b/c=1', /invalid label key "a\/b\/c"/],
    ['-a=1', /invalid label key "-a"/],
    [`a=${'x'.repeat(64)}`, /must be no more than 63 characters/],
    ['n>x', /expected an integer after "n>", found "x"/],
  ];
  for (const [text, why] of bad) {
    test(`${JSON.stringify(text)} is a BadRequest naming the bad part`, opts, () => {
      assert.throws(
        () => parseSelector(text),
        (e: unknown) =>
          e instanceof ApiError &&
          e.reason === 'BadRequest' &&
          e.code === 400 &&
          e.message.startsWith(`unable to parse label selector ${JSON.stringify(text)}: `) &&
          why.test(e.message),
      );
    });
  }
});

describe('selectorFromLabelSelector', () => {
  test('matchLabels AND matchExpressions', opts, () => {
    const s = selectorFromLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'tier', operator: 'NotIn', values: ['db'] },
        { key: 'team', operator: 'Exists' },
        { key: 'debug', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(s.matches({ app: 'web', env: 'prod', tier: 'front', team: 'a' }), true);
    assert.equal(s.matches({ app: 'web', env: 'prod', team: 'a' }), true);
    assert.equal(s.matches({ app: 'api', env: 'prod', team: 'a' }), false);
    assert.equal(s.matches({ app: 'web', env: 'dev', team: 'a' }), false);
    assert.equal(s.matches({ app: 'web', env: 'prod', tier: 'db', team: 'a' }), false);
    assert.equal(s.matches({ app: 'web', env: 'prod' }), false);
    assert.equal(s.matches({ app: 'web', env: 'prod', team: 'a', debug: '1' }), false);
    assert.equal(s.toString(), 'app=web,!debug,env in (prod,staging),team,tier notin (db)');
  });

  test('undefined or empty selects everything', opts, () => {
    for (const sel of [undefined, {}, { matchLabels: {} }, { matchExpressions: [] }] as (LabelSelector | undefined)[]) {
      const s = selectorFromLabelSelector(sel);
      assert.equal(s.empty, true);
      assert.equal(s.matches({ anything: 'x' }), true);
      assert.equal(s.matches(undefined), true);
    }
  });

  test('a malformed selector selects nothing', opts, () => {
    const s = selectorFromLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Near' as 'In' }] });
    assert.equal(s.matches({ a: 'x' }), false);
    assert.equal(s.empty, false);
    assert.equal(selectorFromLabelSelector({ matchLabels: { a: 1 as unknown as string } }).matches({ a: '1' }), false);
  });

  test('selectorFromSet is an equality selector', opts, () => {
    const s = selectorFromSet({ app: 'nginx', tier: 'web' });
    assert.equal(s.matches({ app: 'nginx', tier: 'web', extra: 'y' }), true);
    assert.equal(s.matches({ app: 'nginx' }), false);
    assert.equal(s.toString(), 'app=nginx,tier=web');
    assert.equal(selectorFromSet({}).empty, true);
  });

  test('labelSelectorToString prints what kubectl prints', opts, () => {
    assert.equal(labelSelectorToString({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['b', 'a'] }] }), 'app=web,env in (a,b)');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'x', operator: 'Exists' }, { key: 'y', operator: 'DoesNotExist' }] }), 'x,!y');
    assert.equal(labelSelectorToString({}), '<none>');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'a', operator: 'Near' as 'In' }] }), '<error>');
  });
});

describe('validateLabelSelector', () => {
  test('a good selector has no errors', opts, () => {
    assert.deepEqual(
      validateLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['a'] }] }, 'spec.selector'),
      [],
    );
  });

  test('reports every problem with its path', opts, () => {
    const errs = validateLabelSelector(
      {
        matchLabels: { 'bad key': 'x', good: 'bad value!' },
        matchExpressions: [
          { key: 'a', operator: 'In' },
          { key: 'b', operator: 'Exists', values: ['x'] },
          { key: 'c', operator: 'Near' as 'In' },
          { key: 'd', operator: 'NotIn', values: ['ok', '-bad'] },
          { key: 'e/f/g', operator: 'Exists' },
        ],
      },
      'spec.selector',
    );
    assert.deepEqual(
      errs.map((e) => `${e.field} ${e.type}`),
      [
        'spec.selector.matchLabels FieldValueInvalid',
        'spec.selector.matchLabels FieldValueInvalid',
        'spec.selector.matchExpressions[0].values FieldValueRequired',
        'spec.selector.matchExpressions[1].values FieldValueForbidden',
        'spec.selector.matchExpressions[2].operator FieldValueInvalid',
        'spec.selector.matchExpressions[3].values[1] FieldValueInvalid',
        'spec.selector.matchExpressions[4].key FieldValueInvalid',
      ],
    );
    assert.equal(errs[2].detail, "must be specified when `operator` is 'In' or 'NotIn'");
    assert.equal(errs[3].detail, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
  });

  test('wrong types are errors, not exceptions', opts, () => {
    assert.deepEqual(
      validateLabelSelector('app=web' as unknown as LabelSelector, 'spec.selector').map((e) => e.field),
      ['spec.selector'],
    );
    assert.deepEqual(
      validateLabelSelector({ matchExpressions: 'x' } as unknown as LabelSelector, 'spec.selector').map((e) => e.field),
      ['spec.selector.matchExpressions'],
    );
    assert.deepEqual(
      validateLabelSelector({ matchExpressions: [{ operator: 'Exists' }] } as unknown as LabelSelector, 's').map((e) => e.field),
      ['s.matchExpressions[0].key'],
    );
  });
});

describe('parseFieldSelector', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', uid: 'u-1' },
    spec: { nodeName: 'pi-1', containers: [], replicas: 3, hostNetwork: false },
    status: { phase: 'Running' },
  } as unknown as KObject;
  const pending = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-2', namespace: 'kube-system' }, status: { phase: 'Pending' } } as unknown as KObject;
  const event = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, involvedObject: { name: 'web', uid: 'abc', kind: 'Pod' } } as unknown as KObject;

  const cases: [string, KObject, boolean][] = [
    ['metadata.name=web-1', pod, true],
    ['metadata.name==web-1', pod, true],
    ['metadata.name=web-2', pod, false],
    ['metadata.namespace!=kube-system', pod, true],
    ['metadata.namespace!=kube-system', pending, false],
    ['spec.nodeName=', pending, true],
    ['spec.nodeName=', pod, false],
    ['spec.nodeName!=', pod, true],
    ['status.phase=Running', pod, true],
    ['status.phase=Running,spec.nodeName=pi-1', pod, true],
    ['status.phase=Running,spec.nodeName=pi-2', pod, false],
    ['involvedObject.name=web,involvedObject.uid=abc', event, true],
    ['involvedObject.kind=Node', event, false],
    ['spec.replicas=3', pod, true],
    ['spec.hostNetwork=false', pod, true],
    ['no.such.field=', pod, true],
    ['', pod, true],
    [' metadata.name = web-1 ', pod, true],
  ];
  for (const [text, obj, want] of cases) {
    test(`${JSON.stringify(text)} ${want ? 'matches' : 'does not match'} ${obj.metadata.name}`, opts, () => {
      assert.equal(parseFieldSelector(text)(obj), want);
    });
  }

  test('escaped commas and equals signs stay in the value', opts, () => {
    const obj = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, message: 'a,b=c' } as unknown as KObject;
    assert.equal(parseFieldSelector('message=a\\,b\\=c')(obj), true);
  });

  const bad: [string, RegExp][] = [
    ['metadata.name', /has no operator/],
    ['a b=c', /"a b" is not a field path/],
    ['=c', /"" is not a field path/],
    ['a=b,,c=d', /empty term/],
    ['a=b,', /empty term/],
    ['.a=b', /not a field path/],
  ];
  for (const [text, why] of bad) {
    test(`${JSON.stringify(text)} is a BadRequest`, opts, () => {
      assert.throws(
        () => parseFieldSelector(text),
        (e: unknown) => e instanceof ApiError && e.reason === 'BadRequest' && e.message.includes(JSON.stringify(text)) && why.test(e.message),
      );
    });
  }
});
