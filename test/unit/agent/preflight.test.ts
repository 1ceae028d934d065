import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCgroups, formatResults, ignoreFailures, runPreflight, type CheckResult, type PreflightHost } from '../../../src/agent/preflight.js';

// The preflight against a fake machine: files for /proc and /sys, binaries, ports and answers.

interface FakeMachine {
  files?: Record<string, string>;
  bins?: string[];
  busyPorts?: number[];
  ntp?: string;
  cri?: string | Error;
  freeBytes?: number;
}

const GiB = 1024 ** 3;
const healthyFiles = {
  '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
  '/proc/swaps': 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n',
  '/proc/meminfo': 'MemTotal:        8041232 kB\nMemFree:  1000 kB\n',
  ...Object.fromEntries(['bridge', 'host-local', 'loopback', 'portmap'].map((p) => [`/usr/lib/cni/${p}`, ''])),
};

function fake(m: FakeMachine = {}): PreflightHost {
  const files: Record<string, string> = { ...healthyFiles, ...m.files };
  const bins = m.bins ?? ['containerd', 'runc', 'iptables', 'ip', 'nats-server', 'timedatectl'];
  return {
    readFile: (p) => files[p],
    exists: (p) => p in files,
    which: (b) => (bins.includes(b) ? `/usr/bin/${b}` : undefined),
    portFree: async (p) => !(m.busyPorts ?? []).includes(p),
    run: async (cmd) => (cmd === 'timedatectl' ? (m.ntp ?? 'yes\n') : undefined),
    criVersion: async () => {
      if (m.cri instanceof Error) throw m.cri;
      return m.cri ?? 'containerd 1.6.20';
    },
    freeDiskBytes: async () => m.freeBytes ?? 20 * GiB,
  };
}

const byName = (rs: CheckResult[]) => new Map(rs.map((r) => [r.name, r]));

test('a healthy agent machine passes every check', async () => {
  const rs = await runPreflight(fake(), { role: 'agent', dataDir: '/var/lib/skiff/agent' });
  assert.deepEqual(rs.filter((r) => r.status !== 'ok'), [], 'nothing to fix');
  assert.deepEqual([...byName(rs).keys()].sort(), ['cgroups', 'clock', 'cni-plugins', 'container-runtime', 'containerd', 'disk', 'ip', 'iptables', 'memory', 'memory-cgroup', 'port-10249', 'runc', 'swap'], 'the agent checks');
});

test('a Raspberry Pi without the memory cgroup fails with the cmdline.txt fix, on v2 and on v1', async () => {
  const v2 = byName(await runPreflight(fake({ files: { '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io pids\n' } }), { role: 'agent', dataDir: '/d' }));
  assert.equal(v2.get('memory-cgroup')?.status, 'fail', 'v2 without memory fails');
  assert.match(v2.get('memory-cgroup')?.fix ?? '', /add "cgroup_memory=1 cgroup_enable=memory" to .*\/boot\/firmware\/cmdline.txt .*\/boot\/cmdline.txt.* and reboot/, 'the Pi fix');
  const v1Host = fake();
  const files: Record<string, string | undefined> = { '/proc/cgroups': '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t1\t1\nmemory\t0\t1\t0\n' };
  v1Host.readFile = (p) => files[p];
  const v1 = checkCgroups(v1Host);
  assert.equal(v1[0].message, 'cgroup v1 (legacy hierarchy); v2 is preferred but v1 works', 'v1 detected');
  assert.equal(v1[1].status, 'fail', 'v1 memory disabled fails');
  files['/proc/cgroups'] = files['/proc/cgroups']!.replace('memory\t0\t1\t0', 'memory\t4\t80\t1');
  assert.equal(checkCgroups(v1Host)[1].status, 'ok', 'v1 memory enabled passes');
});

test('swap, unsynchronised clock and little memory or disk are reported with fixes', async () => {
  const rs = byName(
    await runPreflight(
      fake({
        files: { '/proc/swaps': 'Filename Type Size Used Priority\n/var/swap file 102396 0 -2\n', '/proc/meminfo': 'MemTotal: 400000 kB\n' },
        ntp: 'no\n',
        freeBytes: 2 * GiB,
      }),
      { role: 'agent', dataDir: '/d' },
    ),
  );
  assert.equal(rs.get('swap')?.status, 'warn', 'swap warns');
  assert.match(rs.get('swap')?.message ?? '', /\/var\/swap/, 'names the swap file');
  assert.match(rs.get('swap')?.fix ?? '', /swapoff -a.*dphys-swapfile/, 'swap fix');
  assert.equal(rs.get('clock')?.status, 'warn', 'clock warns');
  assert.match(rs.get('clock')?.fix ?? '', /timedatectl set-ntp true/, 'clock fix');
  assert.equal(rs.get('memory')?.status, 'warn', '390 MiB: enough for an agent, barely');
  assert.equal(rs.get('disk')?.status, 'warn', '2 GiB warns');
  const tiny = byName(await runPreflight(fake({ files: { '/proc/meminfo': 'MemTotal: 200000 kB\n' }, freeBytes: 100 * 1024 ** 2 }), { role: 'server', dataDir: '/d' }));
  assert.equal(tiny.get('memory')?.status, 'fail', '195 MiB is too little for a server');
  assert.equal(tiny.get('disk')?.status, 'fail', '100 MiB of disk is too little');
});

test('missing parts and busy ports fail with the install command', async () => {
  const agent = byName(await runPreflight(fake({ bins: ['ip'] }), { role: 'agent', dataDir: '/d' }));
  assert.equal(agent.get('containerd')?.fix, 'sudo apt-get install -y containerd', 'containerd fix');
  assert.equal(agent.get('runc')?.fix, 'sudo apt-get install -y runc', 'runc fix');
  assert.equal(agent.get('iptables')?.fix, 'sudo apt-get install -y iptables', 'iptables fix');
  const noCni = fake();
  noCni.exists = () => false;
  const cni = byName(await runPreflight(noCni, { role: 'agent', dataDir: '/d' }));
  assert.equal(cni.get('cni-plugins')?.fix, 'sudo apt-get install -y containernetworking-plugins', 'CNI fix');
  assert.match(cni.get('cni-plugins')?.message ?? '', /\/usr\/lib\/cni or \/opt\/cni\/bin/, 'names both directories');
  const server = byName(await runPreflight(fake({ busyPorts: [6443], bins: [] }), { role: 'server', dataDir: '/d' }));
  assert.equal(server.get('port-6443')?.status, 'fail', 'API port taken');
  assert.match(server.get('port-6443')?.fix ?? '', /ss -ltnp/, 'how to find the user of the port');
  assert.equal(server.get('port-4222')?.status, 'ok', 'NATS port free');
  assert.equal(server.get('nats-server')?.fix, 'sudo apt-get install -y nats-server', 'nats-server fix');
  assert.equal(server.has('memory-cgroup'), false, 'the server runs no pods: no cgroup checks');
});

test('an existing runtime without CRI fails with how to turn CRI on', async () => {
  const rs = byName(await runPreflight(fake({ cri: new Error('unknown service runtime.v1alpha2.RuntimeService') }), { role: 'agent', dataDir: '/d', containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock' }));
  assert.equal(rs.get('container-runtime')?.status, 'fail', 'CRI off fails');
  assert.match(rs.get('container-runtime')?.fix ?? '', /"cri" must not be in disabled_plugins in \/etc\/containerd\/config.toml/, 'CRI fix');
  assert.equal(rs.has('containerd'), false, 'no containerd binary needed for an existing runtime');
});

test('ignored failures become warnings and the output shows each fix', () => {
  const rs: CheckResult[] = [
    { name: 'port-6443', status: 'fail', message: 'port 6443 is in use', fix: 'stop it' },
    { name: 'swap', status: 'ok', message: 'swap is off' },
  ];
  const ignored = ignoreFailures(rs, ['port-6443']);
  assert.equal(ignored[0].status, 'warn', 'ignored');
  assert.equal(ignoreFailures(rs, [])[0].status, 'fail', 'not ignored');
  assert.equal(formatResults(ignored), '[warn] port-6443: port 6443 is in use (ignored)\n       fix: stop it\n[ok]   swap: swap is off\n', 'the printed form');
});
