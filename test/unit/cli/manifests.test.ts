import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { manifestFiles, parseManifests, readManifests } from '../../../src/cli/manifests.js';

test('multi-document YAML, with positions of each object', { timeout: 5_000 }, () => {
  const text = [
    'apiVersion: v1',
    'kind: Namespace',
    'metadata:',
    '  name: prod',
    '---',
    '# a comment only document follows',
    '---',
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: web',
    'spec:',
    '  containers: [{name: c, image: nginx}]',
  ].join('\n');
  const ms = parseManifests(text, 'app.yaml');
  assert.deepEqual(ms.map((m) => [m.obj.kind, m.obj.metadata.name, m.line]), [
    ['Namespace', 'prod', 1],
    ['Pod', 'web', 8],
  ]);
});

test('kind: List is flattened into its items', { timeout: 5_000 }, () => {
  const text = ['apiVersion: v1', 'kind: List', 'items:', '- apiVersion: v1', '  kind: Pod', '  metadata: {name: a}', '- apiVersion: v1', '  kind: Pod', '  metadata: {name: b}'].join('\n');
  const ms = parseManifests(text, 'list.yaml');
  assert.deepEqual(ms.map((m) => [m.obj.metadata.name, m.line, m.col]), [
    ['a', 4, 3],
    ['b', 7, 3],
  ]);
});

test('JSON objects and JSON lists', { timeout: 5_000 }, () => {
  const ms = parseManifests(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } }] }, null, '\t'), 'x.json');
  assert.equal(ms[0].obj.metadata.name, 'a');
  assert.equal(parseManifests('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}', 'n.json')[0].obj.kind, 'Namespace');
});

test('YAML syntax errors name FILE:LINE:COL', { timeout: 5_000 }, () => {
  const text = ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: web', 'spec:', '  containers: [{name: c', '  image: x'].join('\n');
  assert.throws(() => parseManifests(text, 'bad.yaml'), (e: Error) => {
    assert.match(e.message, /^bad\.yaml:\d+:\d+: /);
    const [, line] = /^bad\.yaml:(\d+):/.exec(e.message)!;
    assert.ok(Number(line) >= 6, e.message);
    return true;
  });
  assert.throws(() => parseManifests('kind: Pod\nmetadata:\n  name: "web\n', 'quote.yaml'), { message: /^quote\.yaml:\d+:\d+: Missing closing "quote/ });
});

test('JSON syntax errors name FILE:LINE:COL too', { timeout: 5_000 }, () => {
  assert.throws(() => parseManifests('{\n  "apiVersion": "v1",\n  "kind": "Pod"\n  "metadata": {}\n}', 'bad.json'), { message: /^bad\.json:4:3: Expected ',' or '}'/ });
});

test('objects without apiVersion or kind are rejected with their position', { timeout: 5_000 }, () => {
  assert.throws(() => parseManifests('---\nmetadata:\n  name: x\n', 'f.yaml'), { message: 'f.yaml:2:1: apiVersion and kind not set: every object needs apiVersion and kind' });
  assert.throws(() => parseManifests('- 1\n- 2\n', 'f.yaml'), { message: /^f\.yaml:1:1: expected an object/ });
});

test('-f DIR reads its manifest files in order; -f - reads stdin', { timeout: 5_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-manifests-'));
  try {
    writeFileSync(join(dir, 'b.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n');
    writeFileSync(join(dir, 'a.json'), '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}');
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'c.yml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: c}\n');
    assert.deepEqual(manifestFiles(dir).map((f) => f.slice(dir.length + 1)), ['a.json', 'b.yaml']);
    assert.deepEqual(manifestFiles(dir, true).map((f) => f.slice(dir.length + 1)), ['a.json', 'b.yaml', 'sub/c.yml']);
    const ms = await readManifests([dir, '-'], { stdin: Readable.from(['apiVersion: v1\nkind: Pod\nmetadata: {name: s}\n']) });
    assert.deepEqual(ms.map((m) => [m.obj.metadata.name, m.source.endsWith('STDIN') ? 'STDIN' : 'file']), [
      ['a', 'file'],
      ['b', 'file'],
      ['s', 'STDIN'],
    ]);
    await assert.rejects(readManifests([join(dir, 'missing.yaml')]), /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
