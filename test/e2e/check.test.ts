import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { ensureBuilt, freePort, runCtl } from './harness.js';

// `ctl check` on this machine, as install.sh runs it.

const busy = createServer();
let busyPort = 0;
before(async () => {
  await ensureBuilt();
  await new Promise<void>((r) => busy.listen({ port: 0, host: '0.0.0.0' }, () => r()));
  busyPort = (busy.address() as { port: number }).port;
});
after(() => new Promise<void>((r) => busy.close(() => r())));

test('agent preflight: one line per check, and the exit code follows the failures', { timeout: 60_000 }, async () => {
  const r = await runCtl(['check', '--role', 'agent']);
  for (const name of ['cgroups', 'memory-cgroup', 'swap', 'containerd', 'cni-plugins', 'clock', 'memory', 'disk']) {
    assert.match(r.stdout, new RegExp(`^\\[(ok|warn|FAIL)\\]\\s+${name}: `, 'm'), `a line for ${name}:\n${r.stdout}`);
  }
  const failed = /^\[FAIL\]/m.test(r.stdout);
  assert.equal(r.code, failed ? 1 : 0, `exit code matches the failures:\n${r.stdout}\n${r.stderr}`);
});

test('server preflight fails on a busy API port with how to find its user, and --ignore turns it into a warning', { timeout: 60_000 }, async () => {
  const r = await runCtl(['check', '--role', 'server', '--api-port', String(busyPort), '--nats-port', String(await freePort())]);
  assert.match(r.stdout, new RegExp(`^\\[FAIL\\] port-${busyPort}: port ${busyPort} \\(API server \\(--api-port\\)\\) is in use\\n\\s+fix: .*ss -ltnp`, 'm'), r.stdout);
  assert.equal(r.code, 1, 'a required check failed');
  assert.match(r.stderr, new RegExp(`required check\\(s\\) failed: .*port-${busyPort}`), r.stderr);
  const ignored = await runCtl(['check', '--role', 'server', '--api-port', String(busyPort), '--nats-port', String(await freePort()), '--ignore', `port-${busyPort}`]);
  assert.match(ignored.stdout, new RegExp(`^\\[warn\\] port-${busyPort}: .*\\(ignored\\)`, 'm'), ignored.stdout);
  const bad = await runCtl(['check', '--role', 'server', '--api-port', 'http']);
  assert.equal(bad.code, 1, 'bad port refused');
  assert.match(bad.stderr, /--api-port "http" is not a port number/, bad.stderr);
});
