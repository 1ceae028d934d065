// Parsers of the Linux /proc and /sys files node_exporter reads, as pure functions of the text,
// so a unit test can feed any machine's files. Units follow node_exporter: seconds and bytes.

/** USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture Node runs on. */
export const USER_HZ = 100;

export const cpuModes = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
export type CpuMode = (typeof cpuModes)[number];

export interface ProcStat {
  /** Per CPU (by its number), seconds spent in each mode since boot. */
  cpus: { cpu: string; seconds: Record<CpuMode, number> }[];
  /** Seconds since the epoch. */
  bootTime?: number;
}

/** /proc/stat: the `cpuN` lines (not the `cpu` total, as node_exporter) and `btime`. */
export function parseProcStat(text: string): ProcStat {
  const cpus: ProcStat['cpus'] = [];
  let bootTime: number | undefined;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const m = /^cpu(\d+)$/.exec(f[0]);
    if (m) {
      const seconds = {} as Record<CpuMode, number>;
      cpuModes.forEach((mode, i) => (seconds[mode] = (Number(f[i + 1]) || 0) / USER_HZ));
      cpus.push({ cpu: m[1], seconds });
    } else if (f[0] === 'btime' && f[1]) bootTime = Number(f[1]);
  }
  return { cpus, bootTime };
}

/** Seconds all CPUs were busy (every mode but idle and iowait), summed, as top and metrics-server count. */
export function busySeconds(stat: ProcStat): number {
  let busy = 0;
  for (const c of stat.cpus) for (const mode of cpuModes) if (mode !== 'idle' && mode !== 'iowait') busy += c.seconds[mode];
  return busy;
}

/** /proc/meminfo: each field in bytes (the `kB` the kernel prints is KiB). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out.set(m[1], Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  return out;
}

/** /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): [number, number, number] | undefined {
  const f = text.trim().split(/\s+/).slice(0, 3).map(Number);
  return f.length === 3 && f.every(Number.isFinite) ? [f[0], f[1], f[2]] : undefined;
}

export interface NetDevCounters {
  device: string;
  receiveBytes: number;
  transmitBytes: number;
}

/** /proc/net/dev: bytes received and sent per interface (the first and ninth counters). */
export function parseNetDev(text: string): NetDevCounters[] {
  const out: NetDevCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const device = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!device || f.length < 9 || !Number.isFinite(f[0]) || !Number.isFinite(f[8])) continue;
    out.push({ device, receiveBytes: f[0], transmitBytes: f[8] });
  }
  return out;
}

export interface MountInfo {
  mountpoint: string;
  device: string;
  fstype: string;
}

/** Undoes the octal escapes (`\040` for a space) the kernel writes in mount paths. */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** /proc/self/mountinfo: mount point, source device and filesystem type of each mount, in order. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 5 || right.length < 2) continue;
    out.push({ mountpoint: unescapeMount(left[4]), fstype: right[0], device: unescapeMount(right[1]) });
  }
  return out;
}

/** The mount a path lives on: the longest mount point that contains it (the last one mounted wins a tie). */
export function mountOf(mounts: MountInfo[], path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const inside = m.mountpoint === '/' || path === m.mountpoint || path.startsWith(`${m.mountpoint}/`);
    if (inside && (!best || m.mountpoint.length >= best.mountpoint.length)) best = m;
  }
  return best;
}

/** A /sys/class/thermal/thermal_zoneN/temp reading (millidegrees Celsius) in degrees Celsius. */
export function parseThermalTemp(text: string): number | undefined {
  const v = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(v) ? v / 1000 : undefined;
}
