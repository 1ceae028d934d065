import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeArchive, rechunk } from '../../../src/server/node-images.js';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of source) out.push(c);
  return out;
}

async function* pieces(...parts: (Buffer | string)[]): AsyncGenerator<Buffer | string> {
  for (const p of parts) yield p;
}

test('rechunk cuts pieces of any size into chunks of exactly the size, the last one shorter, in order', async () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const parts = [data.subarray(0, 7), data.subarray(7, 300), data.subarray(300, 301), data.subarray(301, 1000)];
  const chunks = await collect(rechunk(pieces(...parts), 256));
  assert.deepEqual(chunks.map((c) => c.length), [256, 256, 256, 232], 'three full chunks and the rest');
  assert.ok(Buffer.concat(chunks).equals(data), 'the chunks put together are the input, byte for byte');
});

test('rechunk of an exact multiple ends without an empty chunk; empty input gives none', async () => {
  const chunks = await collect(rechunk(pieces(Buffer.alloc(512, 1)), 256));
  assert.deepEqual(chunks.map((c) => c.length), [256, 256], 'no trailing empty chunk');
  assert.deepEqual(await collect(rechunk(pieces(), 256)), [], 'nothing in, nothing out');
});

test('rechunk takes strings as their UTF-8 bytes', async () => {
  const chunks = await collect(rechunk(pieces('ab', 'cdé'), 3));
  assert.equal(Buffer.concat(chunks).toString('utf8'), 'abcdé', 'text survives');
  assert.deepEqual(chunks.map((c) => c.length), [3, 3], 'é is two bytes');
});

test('looksLikeArchive knows a tar header and gzip, and refuses anything else', () => {
  const tar = Buffer.alloc(512);
  tar.write('ustar', 257, 'latin1');
  assert.equal(looksLikeArchive(tar), true, 'a POSIX tar header');
  assert.equal(looksLikeArchive(Buffer.from([0x1f, 0x8b, 8, 0])), true, 'a gzip stream');
  assert.equal(looksLikeArchive(Buffer.from('{"not": "a tar"}')), false, 'JSON is no archive');
  assert.equal(looksLikeArchive(Buffer.alloc(0)), false, 'nothing is no archive');
});
