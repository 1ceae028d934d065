import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { resolveKubeconfig, type ResolvedClientConfig } from '../../../src/api/kubeconfig.js';
import { freePort } from '../../helpers/ports.js';

// `ctl server` as a real process, killed with SIGKILL while writes are in flight: every write it
// acknowledged must be there after a restart on the same data dir.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const procs: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});


/** Its own API and NATS ports, so test files running side by side never meet. */
function startServer(dataDir: string, port: number, natsPort: number): { child: ChildProcess; output: () => string } {
  const args = ['--data-dir', dataDir, '--api-port', String(port), '--nats-port', String(natsPort), '--bind-address', '127.0.0.1'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'cmd/ctl.ts', 'server', ...args], {
    cwd: repoRoot,
    env: { ...process.env, SKIFF_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  return { child, output: () => out };
}

function call(cfg: ResolvedClientConfig, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const url = new URL(cfg.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((res, rej) => {
    const req = https.request(
      { host: url.hostname, port: url.port, path, method, ca: cfg.caPem, cert: cfg.certPem, key: cfg.keyPem, agent: false, headers: payload ? { 'content-type': 'application/json' } : {} },
      (r) => {
        let text = '';
        r.on('data', (d: Buffer) => (text += d));
        r.on('end', () => res({ status: r.statusCode ?? 0, json: text.startsWith('{') ? JSON.parse(text) : text }));
        r.on('error', rej);
      },
    );
    req.on('error', rej);
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.end(payload);
  });
}

async function waitReady(dataDir: string, server: { child: ChildProcess; output: () => string }): Promise<ResolvedClientConfig> {
  const kc = join(dataDir, 'admin.kubeconfig');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`ctl server exited ${server.child.exitCode}:\n${server.output()}`);
    if (existsSync(kc)) {
      const cfg = resolveKubeconfig(readFileSync(kc, 'utf8'), kc, (p) => readFileSync(p, 'utf8'));
      try {
        if ((await call(cfg, 'GET', '/readyz')).status === 200) return cfg;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) throw new Error(`ctl server not ready:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('kill -9 of ctl server between acknowledged writes loses none of them', { timeout: 90_000 }, async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'skiff-crash-')), 'server');
  dirs.push(dirname(dataDir));
  const port = await freePort();
  const natsPort = await freePort();
  const first = startServer(dataDir, port, natsPort);
  const cfg = await waitReady(dataDir, first);
  assert.equal(statSync(join(dataDir, 'admin.kubeconfig')).mode & 0o777, 0o600);
  const caBefore = readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8');

  const acknowledged: string[] = [];
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      const name = `p${i}`;
      try {
        const r = await call(cfg, 'POST', '/api/v1/namespaces/default/pods', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name },
          spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] },
        });
        if (r.status === 201) acknowledged.push(name);
      } catch {
        return; // the server died mid-request: that write was never acknowledged
      }
    }
  })();
  while (acknowledged.length < 30) await new Promise((r) => setTimeout(r, 10));
  first.child.kill('SIGKILL');
  writing = false;
  await writer;
  await new Promise((r) => first.child.once('exit', r));

  const second = startServer(dataDir, port, natsPort);
  const cfg2 = await waitReady(dataDir, second);
  assert.equal(readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'), caBefore, 'the CA is reused after a restart');
  const list = await call(cfg2, 'GET', '/api/v1/namespaces/default/pods');
  const names = new Set(list.json.items.map((p: { metadata: { name: string } }) => p.metadata.name));
  const lost = acknowledged.filter((n) => !names.has(n));
  assert.deepEqual(lost, [], `acknowledged writes lost after kill -9 (${acknowledged.length} acknowledged)`);

  second.child.kill('SIGTERM');
  const code = await new Promise((r) => second.child.once('exit', (c) => r(c)));
  assert.equal(code, 0, `ctl server exits 0 on SIGTERM:\n${second.output()}`);
});

test('ctl server says so when the port is taken', { timeout: 60_000 }, async () => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as { port: number }).port;
  try {
    const dataDir = mkdtempSync(join(tmpdir(), 'skiff-port-'));
    dirs.push(dataDir);
    const s = startServer(dataDir, port, await freePort());
    const code = await new Promise((r) => s.child.once('exit', (c) => r(c)));
    assert.equal(code, 1);
    assert.match(s.output(), new RegExp(`port ${port} on 127.0.0.1 is already in use .*--api-port`));
    assert.doesNotMatch(s.output(), /\n\s+at /, 'no stack trace');
  } finally {
    blocker.close();
  }
});
