import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { parseBindAddress } from '../../../src/metrics/http.js';
import { registerNodeMetrics, type HostFiles } from '../../../src/metrics/node.js';

// The node metrics as Prometheus reads them, from a described machine (a Raspberry Pi with its
// data dir on a USB disk) instead of this one.

const files: Record<string, string> = {
  '/proc/stat': 'cpu  1 2 3 4 5 6 7 8\ncpu0 100 0 50 1000 10 0 5 0\ncpu1 200 0 60 900 20 0 6 0\nbtime 1700000000\n',
  '/proc/meminfo': 'MemTotal:        3884328 kB\nMemFree:          150040 kB\nMemAvailable:    2514764 kB\n',
  '/proc/loadavg': '0.52 0.58 0.59 2/614 12345\n',
  '/proc/net/dev': 'h1\nh2\n  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n',
  '/proc/self/mountinfo': '26 1 179:2 / / rw - ext4 /dev/mmcblk0p2 rw\n40 26 8:1 / /var/lib/skiff rw - ext4 /dev/sda1 rw\n',
  '/sys/class/thermal/thermal_zone0/temp': '48686\n',
  '/sys/class/thermal/thermal_zone0/type': 'cpu-thermal\n',
};
const pi: HostFiles = {
  read: async (p) => files[p],
  list: async (d) => (d === '/sys/class/thermal' ? ['thermal_zone0', 'cooling_device0'] : []),
  statfs: async (p) => (p === '/var/lib/skiff/agent' ? { blocks: 1000, bavail: 250, bsize: 4096 } : undefined),
};

async function scrape(f: HostFiles): Promise<string> {
  const registry = new Registry();
  registerNodeMetrics(registry, { dataDir: '/var/lib/skiff/agent', files: f });
  return registry.metrics();
}

test("node_exporter's names, labels and units", async () => {
  const text = await scrape(pi);
  const has = (line: string, why: string) => assert.ok(text.split('\n').includes(line), `${why}: ${line}\n${text}`);
  has('# TYPE node_cpu_seconds_total counter', 'CPU seconds are a counter');
  has('node_cpu_seconds_total{cpu="0",mode="user"} 1', 'ticks in seconds per CPU and mode');
  has('node_cpu_seconds_total{cpu="1",mode="idle"} 9', 'idle of the second CPU');
  has('node_boot_time_seconds 1700000000', 'boot time from btime');
  has(`node_memory_MemTotal_bytes ${3884328 * 1024}`, 'MemTotal in bytes');
  has(`node_memory_MemAvailable_bytes ${2514764 * 1024}`, 'MemAvailable in bytes');
  has('node_load1 0.52', 'one minute load');
  has('node_load15 0.59', 'fifteen minute load');
  has('node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/var/lib/skiff"} 4096000', "the data dir's filesystem size");
  has('node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/var/lib/skiff"} 1024000', 'space left for non-root users');
  has('node_network_receive_bytes_total{device="eth0"} 1000', 'received bytes');
  has('node_network_transmit_bytes_total{device="eth0"} 2000', 'sent bytes');
  has('node_thermal_zone_temp{zone="0",type="cpu-thermal"} 48.686', 'SoC temperature in Celsius');
});

test('a machine without thermal zones or readable files scrapes without error and without labelled samples', async () => {
  const text = await scrape({ read: async () => undefined, list: async () => [], statfs: async () => undefined });
  assert.doesNotMatch(text, /^node_thermal_zone_temp\{/m, 'no zones, no temperature');
  assert.doesNotMatch(text, /^node_filesystem_size_bytes\{/m, 'no statfs, no filesystem sample');
  assert.doesNotMatch(text, /^node_cpu_seconds_total\{/m, 'no /proc/stat, no CPU samples');
});

test('--metrics-bind-address: HOST:PORT, [V6]:PORT, and a clear error otherwise', () => {
  assert.deepEqual(parseBindAddress('0.0.0.0:10249'), { host: '0.0.0.0', port: 10249 }, 'IPv4');
  assert.deepEqual(parseBindAddress('[::]:10249'), { host: '::', port: 10249 }, 'IPv6 in brackets');
  assert.deepEqual(parseBindAddress(':9100'), { host: '0.0.0.0', port: 9100 }, 'an empty host is every address');
  assert.throws(() => parseBindAddress('10249'), /--metrics-bind-address "10249" is not HOST:PORT/, 'a bare port names the flag and the form');
  assert.throws(() => parseBindAddress('host:99999'), /port from 0 to 65535/, 'a port out of range');
});
