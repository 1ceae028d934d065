import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import * as tar from 'tar-stream';
import { buildLayer, splitReference, writeOciArchive, type LayerEntry } from '../../../src/cri/oci-image.js';

const entries: LayerEntry[] = [
  { type: 'directory', path: 'bin' },
  { type: 'file', path: '/bin/tool', content: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  { type: 'symlink', path: 'bin/sh', target: '/bin/tool' },
  { type: 'directory', path: 'tmp', mode: 0o1777 },
];

async function untar(data: Buffer): Promise<Map<string, { header: tar.Header; body: Buffer }>> {
  const out = new Map<string, { header: tar.Header; body: Buffer }>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.set(entry.header.name, { header: entry.header, body: Buffer.concat(chunks) });
    }
  })();
  extract.end(data);
  await done;
  return out;
}

async function archive(images: Parameters<typeof writeOciArchive>[0]): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await writeOciArchive(images, sink, { os: 'linux', architecture: 'arm', variant: 'v7' });
  return Buffer.concat(chunks);
}

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('a layer is a tar owned by root at the epoch, and the same files give the same bytes', { timeout: 5_000 }, async () => {
  const a = await buildLayer(entries);
  assert.deepEqual(a, await buildLayer(entries));
  const files = await untar(a);
  assert.deepEqual([...files.keys()], ['bin', 'bin/tool', 'bin/sh', 'tmp']);
  const tool = files.get('bin/tool')!;
  assert.equal(tool.body.toString(), '#!/bin/sh\necho hi\n');
  assert.equal(tool.header.mode, 0o755);
  assert.equal(tool.header.uid, 0);
  assert.equal(tool.header.mtime?.getTime(), 0);
  assert.equal(files.get('bin/sh')!.header.type, 'symlink');
  assert.equal(files.get('bin/sh')!.header.linkname, '/bin/tool');
  assert.equal(files.get('tmp')!.header.mode, 0o1777);
});

test('an OCI layout names each image for containerd and stores a shared layer once', { timeout: 5_000 }, async () => {
  const layer = await buildLayer(entries);
  const files = await untar(await archive([
    { name: 'docker.io/library/busybox:1.36', layers: [layer], config: { cmd: ['sh'], env: ['PATH=/bin'] } },
    { name: 'docker.io/library/busybox:1.36-b', layers: [layer], config: { cmd: ['sh'], env: ['PATH=/bin', 'V=b'] } },
  ]));
  assert.deepEqual(JSON.parse(files.get('oci-layout')!.body.toString()), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(files.get('index.json')!.body.toString());
  assert.equal(index.schemaVersion, 2);
  assert.deepEqual(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations), [
    { 'io.containerd.image.name': 'docker.io/library/busybox:1.36', 'org.opencontainers.image.ref.name': '1.36' },
    { 'io.containerd.image.name': 'docker.io/library/busybox:1.36-b', 'org.opencontainers.image.ref.name': '1.36-b' },
  ]);
  assert.deepEqual(index.manifests[0].platform, { os: 'linux', architecture: 'arm', variant: 'v7' });

  // Every blob is stored under its own digest; the layer once.
  const blobs = [...files.keys()].filter((k) => k.startsWith('blobs/sha256/') && files.get(k)!.header.type === 'file');
  for (const name of blobs) assert.equal(digest(files.get(name)!.body), `sha256:${name.slice('blobs/sha256/'.length)}`);
  assert.equal(blobs.length, 1 + 2 * 2, 'one layer, two configs, two manifests');

  const blob = (d: string) => JSON.parse(files.get(`blobs/sha256/${d.slice(7)}`)!.body.toString());
  const manifest = blob(index.manifests[1].digest);
  assert.equal(manifest.layers[0].digest, digest(layer));
  assert.equal(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar');
  const config = blob(manifest.config.digest);
  assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [digest(layer)] });
  assert.deepEqual(config.config, { Env: ['PATH=/bin', 'V=b'], Cmd: ['sh'] });
  assert.equal(config.architecture, 'arm');
  assert.equal(config.variant, 'v7');
});

test('image names must be fully qualified and tagged', { timeout: 5_000 }, () => {
  assert.deepEqual(splitReference('docker.io/skiff/pause:3.9'), { repository: 'docker.io/skiff/pause', tag: '3.9' });
  assert.deepEqual(splitReference('localhost:5000/app:v1'), { repository: 'localhost:5000/app', tag: 'v1' });
  for (const bad of ['busybox:1.36', 'library/busybox:1.36', 'docker.io/library/busybox', 'localhost:5000/app']) {
    assert.throws(() => splitReference(bad), /must be fully qualified with a tag/, bad);
  }
});
