import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Node } from '../../../src/api/types.js';
import { startNatsPlane, type NatsPlane } from '../../../src/server/nats-plane.js';
import type { Store } from '../../../src/store/store.js';
import { MemoryStore } from './memory-store.js';
import { testPki } from './test-pki.js';
import { freePort } from '../../helpers/ports.js';

export { freePort };

// A control plane's NATS side on a free loopback port in a temp dir, with a real nats-server.

export const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });


export interface Harness {
  dir: string;
  store: Store;
  plane: NatsPlane;
  url: string;
  caCertHash: string;
  close(): Promise<void>;
}

export async function startHarness(opts: { gracePeriodMs?: number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-nats-'));
  const store = new MemoryStore();
  const pki = await testPki();
  const port = await freePort();
  const plane = await startNatsPlane({
    dataDir: join(dir, 'server'),
    bindAddress: '127.0.0.1',
    natsPort: port,
    natsServerPath: process.env.NATS_SERVER ?? 'nats-server',
    nodeMonitorGracePeriodMs: opts.gracePeriodMs ?? 15_000,
    store,
    pki,
    log,
  });
  return {
    dir,
    store,
    plane,
    url: `nats://127.0.0.1:${port}`,
    caCertHash: pki.caCertHash,
    async close() {
      await plane.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function getNode(store: Store, name: string): Promise<Node | undefined> {
  return (await store.get({ resource: 'nodes', namespace: '', name })) as Node | undefined;
}

export function readyStatus(node: Node | undefined): string | undefined {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `p`'s value, or `fallback` if it has not settled within `ms`; leaves no timer behind. */
export async function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
