import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ChunkAssembly } from '../../../src/agent/images.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const whole = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 7) % 256));
const chunks = [whole.subarray(0, 256), whole.subarray(256, 512), whole.subarray(512)];

test('chunks in order add up to the archive: size and checksum match', () => {
  const a = new ChunkAssembly();
  chunks.forEach((c, i) => assert.equal(a.accept(i, c), undefined, `chunk ${i} is accepted`));
  assert.equal(a.received, 700, 'every byte counted');
  assert.equal(a.finish(sha(whole), 700), undefined, 'the checksum of the whole matches');
});

test('a chunk out of order is refused, naming the chunk that was expected', () => {
  const a = new ChunkAssembly();
  assert.equal(a.accept(0, chunks[0]), undefined, 'the first chunk is accepted');
  assert.match(a.accept(2, chunks[2]) ?? '', /chunk 2 arrived where chunk 1 was expected/, 'a skipped chunk is refused');
  assert.match(a.accept(0, chunks[0]) ?? '', /chunk 0 arrived where chunk 1 was expected/, 'a repeated chunk is refused');
});

test('a damaged or short archive fails the final check', () => {
  const damaged = new ChunkAssembly();
  damaged.accept(0, chunks[0]);
  damaged.accept(1, Buffer.alloc(256));
  damaged.accept(2, chunks[2]);
  assert.match(damaged.finish(sha(whole), 700) ?? '', /arrived damaged: SHA-256 [0-9a-f]{64}/, 'other bytes give another checksum');

  const short = new ChunkAssembly();
  short.accept(0, chunks[0]);
  assert.match(short.finish(sha(whole), 700) ?? '', /incomplete: 256 of 700 bytes/, 'a missing tail is reported by size');
});
