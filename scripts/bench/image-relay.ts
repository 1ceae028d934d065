// Image upload benchmark: the control plane's relay (node-images.ts) sends an archive through a
// real nats-server to the agent's receiver (images.ts), which writes it to a temp file and checks
// its SHA-256; only the containerd import is left out (it costs the same however the archive
// arrived). Prints throughput and how far the process's resident memory grew, which stays a few
// chunks' worth whatever the archive's size.
// Run: node --import tsx scripts/bench/image-relay.ts [--mb 128]
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { ImageReceiver } from '../../src/agent/images.js';
import { codecs, imageChunkBytes } from '../../src/bus/messages.js';
import { subjects } from '../../src/bus/subjects.js';
import { imageWindow, loadImageToNode } from '../../src/server/node-images.js';
import { openLevelStore } from '../../src/store/level-store.js';
import { freePort } from '../../test/helpers/ports.js';

const i = process.argv.indexOf('--mb');
const mb = i >= 0 ? Number(process.argv[i + 1]) : 128;
const nodeName = 'bench-node';
const silent = pino({ level: 'silent' });

async function connectWhenUp(url: string): Promise<NatsConnection> {
  for (let tries = 0; ; tries++) {
    try {
      return await connect({ servers: url, reconnect: false });
    } catch (e) {
      if (tries > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A tar header, then `mb` MiB of filler, in 64 KiB pieces as an HTTP body arrives. */
async function* archive(): AsyncGenerator<Buffer> {
  const header = Buffer.alloc(512);
  header.write('ustar', 257, 'latin1');
  yield header;
  const block = Buffer.alloc(64 * 1024, 7);
  for (let n = 0; n < mb * 16; n++) yield block;
}

const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-images-'));
const port = await freePort();
const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
try {
  const url = `nats://127.0.0.1:${port}`;
  const nc = await connectWhenUp(url);
  const agentNc = await connectWhenUp(url);
  const store = await openLevelStore(join(dir, 'store'));
  await store.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });

  let receivedBytes = 0;
  const receiver = new ImageReceiver({
    dataDir: join(dir, 'agent'),
    runtime: { listImages: async () => [] },
    importArchive: async (path) => {
      receivedBytes = (await stat(path)).size;
      return ['docker.io/bench/image:1'];
    },
    log: silent,
  });
  agentNc.subscribe(subjects.toNode(nodeName, 'images'), {
    callback: (err, msg) => {
      if (err) return;
      const d = codecs.imageRequest.decode(msg.data);
      if (d.ok) void receiver.handle(d.value).then((reply) => msg.respond(codecs.imageReply.encode(reply)));
    },
  });

  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const result = await loadImageToNode({ nc, store, log: silent }, nodeName, archive());
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const total = result.bytes / 1024 / 1024;
  console.log(`archive: ${total.toFixed(1)} MiB relayed in ${seconds.toFixed(2)} s = ${(total / seconds).toFixed(1)} MiB/s (chunks of ${imageChunkBytes / 1024} KiB, ${imageWindow} in flight)`);
  console.log(`written and checked on the node: ${(receivedBytes / 1024 / 1024).toFixed(1)} MiB`);
  console.log(`resident memory growth during the upload: ${((peak - baseline) / 1024 / 1024).toFixed(1)} MiB (relay and receiver in one process)`);
  await agentNc.close();
  await nc.close();
  await store.close();
} finally {
  if (nats.pid) process.kill(nats.pid, 'SIGTERM');
  await rm(dir, { recursive: true, force: true });
}
