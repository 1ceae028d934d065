import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The units install.sh writes, checked by systemd itself. systemd-analyze verify also insists
// that ExecStart's binary exists, and /usr/local/bin/ctl is not installed on a test machine: the
// copies checked here point ExecStart at a stand-in executable and are otherwise unchanged.

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(join(tmpdir(), 'skiff-units-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const units = ['skiff-server.service', 'skiff-agent.service'];
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

function verify(names: string[]): { code: number | null; output: string } {
  const stub = join(dir, 'ctl');
  writeFileSync(stub, '#!/bin/sh\nexit 0\n');
  chmodSync(stub, 0o755);
  const r = spawnSync('systemd-analyze', ['verify', ...names.map((n) => join(dir, n))], { encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

test('systemd-analyze verify accepts both units without a warning', { skip: !hasAnalyze && 'systemd-analyze is not installed (apt-get install systemd)' }, () => {
  for (const u of units) writeFileSync(join(dir, u), readFileSync(join(repo, 'deploy/systemd', u), 'utf8').replaceAll('/usr/local/bin/ctl', join(dir, 'ctl')));
  const r = verify(units);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output, '', 'no warnings');
});

test('the check sees a broken unit: a bad KillMode is reported', { skip: !hasAnalyze && 'systemd-analyze is not installed (apt-get install systemd)' }, () => {
  const broken = readFileSync(join(repo, 'deploy/systemd/skiff-agent.service'), 'utf8').replaceAll('/usr/local/bin/ctl', join(dir, 'ctl')).replace('KillMode=process', 'KillMode=sometimes');
  writeFileSync(join(dir, 'broken.service'), broken);
  assert.match(verify(['broken.service']).output, /Failed to parse kill mode/, 'systemd rejects the line');
});

test('the units keep what the cluster relies on', () => {
  const agent = readFileSync(join(repo, 'deploy/systemd/skiff-agent.service'), 'utf8');
  const server = readFileSync(join(repo, 'deploy/systemd/skiff-server.service'), 'utf8');
  for (const [name, text] of [['agent', agent], ['server', server]]) {
    assert.match(text, /^Restart=always$/m, `${name} restarts`);
    assert.match(text, /^After=network-online\.target/m, `${name} waits for the network`);
    assert.match(text, /^WantedBy=multi-user\.target$/m, `${name} starts at boot`);
  }
  assert.match(agent, /^KillMode=process$/m, 'containers survive an agent restart');
  assert.match(agent, /^Delegate=yes$/m, 'the agent may manage its cgroup subtree');
  assert.match(agent, /^After=network-online\.target containerd\.service$/m, 'after the runtime');
});
