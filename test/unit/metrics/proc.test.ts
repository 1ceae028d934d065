import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busySeconds, mountOf, parseLoadavg, parseMeminfo, parseMountinfo, parseNetDev, parseProcStat, parseThermalTemp } from '../../../src/metrics/proc.js';

// The /proc and /sys parsers on text copied from real machines (an x86 VM and a Raspberry Pi 4).

const procStat = `cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0
cpu0 1393280 32966 572056 13366930 5418 0 21889 0 0 0
cpu1 1335101 23433 481402 11165436 3910 0 1045 7 0 0
intr 199292 0 0
ctxt 1990473
btime 1062191376
processes 2915
`;

test('/proc/stat: per-CPU seconds by mode from USER_HZ ticks, and the boot time', () => {
  const s = parseProcStat(procStat);
  assert.equal(s.cpus.length, 2, 'the `cpu` total line is not a CPU');
  assert.deepEqual(s.cpus.map((c) => c.cpu), ['0', '1'], 'CPUs keep their numbers');
  assert.equal(s.cpus[0].seconds.user, 13932.8, 'user ticks / 100');
  assert.equal(s.cpus[0].seconds.idle, 133669.3, 'idle ticks / 100');
  assert.equal(s.cpus[1].seconds.steal, 0.07, 'steal is the eighth counter');
  assert.equal(s.bootTime, 1062191376, 'btime is the boot time in epoch seconds');
  assert.equal(Math.round(busySeconds(s) * 100), 1393280 + 32966 + 572056 + 21889 + 1335101 + 23433 + 481402 + 1045 + 7, 'busy excludes idle and iowait');
});

test('/proc/stat: garbage gives no CPUs and no boot time rather than NaN', () => {
  const s = parseProcStat('nonsense\ncpuX 1 2\n');
  assert.deepEqual(s, { cpus: [], bootTime: undefined }, 'nothing recognisable');
});

test('/proc/meminfo: kB fields in bytes, counts as they are', () => {
  const m = parseMeminfo('MemTotal:        3884328 kB\nMemFree:          150040 kB\nMemAvailable:    2514764 kB\nHugePages_Total:       0\n');
  assert.equal(m.get('MemTotal'), 3884328 * 1024, 'MemTotal in bytes');
  assert.equal(m.get('MemAvailable'), 2514764 * 1024, 'MemAvailable in bytes');
  assert.equal(m.get('HugePages_Total'), 0, 'a count without a unit stays a count');
});

test('/proc/loadavg: three averages, or nothing for bad text', () => {
  assert.deepEqual(parseLoadavg('0.52 0.58 0.59 2/614 12345\n'), [0.52, 0.58, 0.59], 'the first three fields');
  assert.equal(parseLoadavg('x y'), undefined, 'not three numbers');
});

test('/proc/net/dev: received and transmitted bytes per device', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 987654321 1234    0    0    0     0          0         0 123456789    4321    0    0    0     0       0          0
`;
  assert.deepEqual(
    parseNetDev(text),
    [
      { device: 'lo', receiveBytes: 3193, transmitBytes: 3193 },
      { device: 'eth0', receiveBytes: 987654321, transmitBytes: 123456789 },
    ],
    'the first and ninth counters of each device',
  );
});

test('/proc/self/mountinfo: the data dir is on the longest mount point that holds it', () => {
  const text = `26 1 179:2 / / rw,noatime shared:1 - ext4 /dev/mmcblk0p2 rw
30 26 179:1 / /boot/firmware rw,relatime shared:2 - vfat /dev/mmcblk0p1 rw
40 26 8:1 / /var/lib/skiff rw,relatime shared:3 - ext4 /dev/sda1 rw
41 26 8:2 / /var/lib/skiff2 rw,relatime shared:4 - xfs /dev/sda2 rw
42 26 0:50 / /mnt/with\\040space rw - tmpfs tmpfs rw
`;
  const mounts = parseMountinfo(text);
  assert.equal(mounts.length, 5, 'every mount line');
  assert.deepEqual(mountOf(mounts, '/var/lib/skiff/agent'), { mountpoint: '/var/lib/skiff', device: '/dev/sda1', fstype: 'ext4' }, 'the USB disk mounted at /var/lib/skiff');
  assert.equal(mountOf(mounts, '/var/lib/skiff2x')?.mountpoint, '/', 'a prefix of a name is not a parent directory');
  assert.equal(mountOf(mounts, '/home/pi')?.device, '/dev/mmcblk0p2', 'anything else is on the root filesystem');
  assert.equal(mounts[4].mountpoint, '/mnt/with space', 'octal escapes are undone');
});

test('thermal zone temperature: millidegrees to degrees Celsius', () => {
  assert.equal(parseThermalTemp('48686\n'), 48.686, 'a Raspberry Pi cpu-thermal reading');
  assert.equal(parseThermalTemp(''), undefined, 'an empty file is no reading');
  assert.equal(parseThermalTemp('n/a'), undefined, 'text is no reading');
});
