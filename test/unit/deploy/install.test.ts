import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// deploy/install.sh --dry-run: the steps it would take, per architecture and command. A fake
// dpkg-query and node on PATH stand for a fresh machine (nothing installed, an old Node.js) or
// a machine where everything is already in place.

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const script = join(repo, 'deploy/install.sh');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fakeBin(opts: { installed: boolean; nodeMajor: number }): string {
  const d = mkdtempSync(join(tmpdir(), 'skiff-install-test-'));
  dirs.push(d);
  const stub = (name: string, body: string) => {
    writeFileSync(join(d, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(d, name), 0o755);
  };
  stub('dpkg-query', opts.installed ? "printf 'install ok installed'" : 'exit 1');
  stub('node', `case "$*" in --version) echo v${opts.nodeMajor}.0.0 ;; *) echo ${opts.nodeMajor} ;; esac`);
  stub('npm', 'exit 0');
  return d;
}

const agentArgs = ['--server', 'nats://192.168.1.10:4222', '--token', 'abcdef.0123456789abcdef', '--discovery-token-ca-cert-hash', `sha256:${'a'.repeat(64)}`, '--node-name', 'pi-1', '--labels', 'zone=kitchen'];

function dryRun(args: string[], machine = { installed: false, nodeMajor: 18 }) {
  const r = spawnSync('bash', [script, ...args, '--dry-run'], { encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin(machine)}:/usr/bin:/bin:/usr/sbin:/sbin` } });
  return { code: r.status, out: r.stdout, err: r.stderr, steps: r.stdout.split('\n').filter((l) => l.startsWith('+ ')) };
}

for (const arch of ['amd64', 'arm64', 'armhf']) {
  test(`agent on ${arch}: packages, Skiff in /opt/skiff, one join, the agent unit`, () => {
    const r = dryRun(['agent', '--arch', arch, ...agentArgs]);
    assert.equal(r.code, 0, `dry run succeeds: ${r.err}`);
    assert.ok(r.steps.includes('+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm'), `Node.js from the distribution:\n${r.out}`);
    assert.ok(
      r.steps.includes('+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends containerd runc containernetworking-plugins iptables iproute2 busybox-static'),
      `runtime packages:\n${r.out}`,
    );
    assert.equal(r.steps.some((l) => l.includes('nats-server')), false, 'no nats-server on an agent');
    assert.ok(r.steps.includes(`+ cp -a ${repo}/dist ${repo}/proto ${repo}/deploy ${repo}/package.json ${repo}/package-lock.json /opt/skiff/`), `copies the build:\n${r.out}`);
    assert.ok(r.steps.includes('+ sh -c cd /opt/skiff && npm ci --omit=dev --no-audit --no-fund --loglevel=error'), 'production dependencies');
    assert.ok(r.steps.includes('+ ln -sfn /opt/skiff/dist/cmd/ctl.js /usr/local/bin/ctl'), 'ctl on PATH');
    assert.ok(r.steps.includes('+ /usr/local/bin/ctl check --role agent'), 'preflight');
    assert.ok(
      r.steps.includes(`+ /usr/local/bin/ctl join nats://192.168.1.10:4222 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:${'a'.repeat(64)} --data-dir /var/lib/skiff/agent --join-only --node-name pi-1 --labels zone=kitchen`),
      `one join, then the unit runs ctl agent:\n${r.out}`,
    );
    assert.ok(r.steps.includes('+ write /etc/systemd/system/skiff-agent.service (mode 0644):'), 'writes the unit');
    assert.match(r.out, /ExecStart=\/usr\/local\/bin\/ctl agent --data-dir \/var\/lib\/skiff\/agent/, 'the unit runs ctl agent on the joined data dir');
    assert.match(r.out, /KillMode=process/, 'containers survive agent restarts');
    assert.ok(r.steps.includes('+ systemctl enable skiff-agent.service') && r.steps.includes('+ systemctl restart skiff-agent.service'), 'enabled and started');
    const arm = r.steps.includes('+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential python3');
    assert.equal(arm, arch !== 'amd64', 'a C++ toolchain for native modules on arm only');
    assert.equal(/NodeSource has no armhf packages/.test(r.out), arch === 'armhf', 'the armhf Node.js note on armhf only');
    assert.ok(r.steps.indexOf('+ /usr/local/bin/ctl check --role agent') < r.steps.findIndex((s) => s.includes('ctl join')), 'preflight before join');
  });
}

test('server: nats-server, the packaged nats-server service off, --cluster-cidr in the unit environment', () => {
  const r = dryRun(['server', '--arch', 'arm64', '--cluster-cidr', '10.77.0.0/16']);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.steps.includes('+ env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server'), r.out);
  assert.ok(r.steps.includes('+ systemctl disable --now nats-server'), 'the distribution service would hold port 4222');
  assert.ok(r.steps.includes('+ /usr/local/bin/ctl check --role server'), 'server preflight');
  assert.match(r.out, /\+ write \/etc\/default\/skiff-server \(mode 0644\):\n {4}SKIFF_SERVER_ARGS="--cluster-cidr 10.77.0.0\/16"/, 'the cluster CIDR reaches ctl server');
  assert.match(r.out, /ExecStart=\/usr\/local\/bin\/ctl server --data-dir \/var\/lib\/skiff\/server \$SKIFF_SERVER_ARGS/, 'the server unit');
  assert.ok(r.steps.includes('+ systemctl restart skiff-server.service'), 'started');
  assert.equal(r.steps.some((l) => / containerd /.test(l)), false, 'no containerd on a server');
});

test('a machine that has everything installs no packages', () => {
  const r = dryRun(['agent', '--arch', 'amd64', ...agentArgs], { installed: true, nodeMajor: 20 });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.steps.some((l) => l.includes('apt-get')), false, `nothing to install:\n${r.out}`);
  assert.match(r.out, /missing: none/, 'says so');
});

test('uninstall stops and removes the units, resets the node and removes /opt/skiff, keeping the server store', () => {
  const r = dryRun(['uninstall', '--arch', 'amd64']);
  assert.equal(r.code, 0, r.err);
  for (const step of [
    '+ systemctl disable --now skiff-agent.service',
    '+ rm -f /etc/systemd/system/skiff-agent.service',
    '+ systemctl disable --now skiff-server.service',
    '+ /usr/local/bin/ctl reset --force --data-dir /var/lib/skiff/agent',
    '+ rm -rf /etc/default/skiff-server /etc/default/skiff-agent /usr/local/bin/ctl /opt/skiff',
  ]) {
    assert.ok(r.steps.includes(step), `${step}:\n${r.out}`);
  }
  assert.match(r.out, /kept \/var\/lib\/skiff\/server/, 'the cluster store is kept');
});

test('bad input names the flag and what to do', () => {
  const cases: [string[], RegExp][] = [
    [['agent', '--arch', 'amd64'], /--server is required: the control plane's NATS address/],
    [['agent', '--arch', 'amd64', '--server', 'nats://h:4222', '--token', 't'], /--discovery-token-ca-cert-hash is required/],
    [['agent', '--arch', 'i386', ...agentArgs], /architecture "i386" is not supported: Skiff installs on amd64, arm64 and armhf/],
    [['agent', '--arch'], /--arch needs a value/],
    [['server', '--bogus'], /unknown flag "--bogus"/],
    [['launch'], /unknown command "launch": use server, agent or uninstall/],
  ];
  for (const [args, message] of cases) {
    const r = dryRun(args);
    assert.equal(r.code, 1, `${args.join(' ')} fails`);
    assert.match(r.err, message, args.join(' '));
    assert.deepEqual(r.steps, [], `${args.join(' ')}: no step taken`);
  }
});
