import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import { parseLoadavg, parseMeminfo, parseMountinfo, parseNetDev, parseProcStat, mountOf, parseThermalTemp, cpuModes } from './proc.js';

// The node metrics node_exporter users have dashboards for, under node_exporter's names and
// units, read from /proc, /sys and statfs on each scrape (nothing runs between scrapes).

/** The host files the node metrics read; a test points it at a directory of fixtures. */
export interface HostFiles {
  read(path: string): Promise<string | undefined>;
  list(dir: string): Promise<string[]>;
  statfs(path: string): Promise<{ blocks: number; bavail: number; bsize: number } | undefined>;
}

function attempt<T>(f: () => T, fallback: T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch {
    return Promise.resolve(fallback);
  }
}

// Synchronous on purpose: /proc and /sys are answered from kernel memory in microseconds, while
// the thread pool behind async reads may be queued behind slow disk or DNS work.
export const hostFiles: HostFiles = {
  read: (path) => attempt<string | undefined>(() => readFileSync(path, 'utf8'), undefined),
  list: (dir) => attempt(() => readdirSync(dir), [] as string[]),
  statfs: (path) => attempt<{ blocks: number; bavail: number; bsize: number } | undefined>(() => statfsSync(path), undefined),
};

export interface NodeMetricsOptions {
  /** Whose filesystem node_filesystem_* describes: the agent's data dir. */
  dataDir: string;
  files?: HostFiles;
}

/** Reads of the same file within this long share one read: the collectors of one scrape. */
const READ_REUSE_MS = 500;

function sharedReads(files: HostFiles): HostFiles {
  const recent = new Map<string, { at: number; value: Promise<string | undefined> }>();
  return {
    ...files,
    read(path) {
      const now = Date.now();
      const hit = recent.get(path);
      if (hit && now - hit.at < READ_REUSE_MS) return hit.value;
      const value = files.read(path);
      recent.set(path, { at: now, value });
      return value;
    },
  };
}

/** Registers the node_* metrics; each reads its source when Prometheus scrapes. */
export function registerNodeMetrics(registry: Registry, opts: NodeMetricsOptions): void {
  const files = sharedReads(opts.files ?? hostFiles);
  const registers = [registry];

  new Counter({
    name: 'node_cpu_seconds_total',
    help: 'Seconds the CPUs spent in each mode.',
    labelNames: ['cpu', 'mode'],
    registers,
    async collect() {
      const text = await files.read('/proc/stat');
      this.reset();
      if (!text) return;
      for (const c of parseProcStat(text).cpus) for (const mode of cpuModes) this.inc({ cpu: c.cpu, mode }, c.seconds[mode]);
    },
  });
  new Gauge({
    name: 'node_boot_time_seconds',
    help: 'Node boot time, in unixtime.',
    registers,
    async collect() {
      const text = await files.read('/proc/stat');
      const boot = text ? parseProcStat(text).bootTime : undefined;
      if (boot !== undefined) this.set(boot);
    },
  });

  for (const [field, name] of [
    ['MemTotal', 'node_memory_MemTotal_bytes'],
    ['MemAvailable', 'node_memory_MemAvailable_bytes'],
    ['MemFree', 'node_memory_MemFree_bytes'],
  ] as const) {
    new Gauge({
      name,
      help: `Memory information field ${field}_bytes.`,
      registers,
      async collect() {
        const text = await files.read('/proc/meminfo');
        const v = text ? parseMeminfo(text).get(field) : undefined;
        if (v !== undefined) this.set(v);
      },
    });
  }

  ([1, 5, 15] as const).forEach((minutes, i) => {
    new Gauge({
      name: `node_load${minutes}`,
      help: `${minutes}m load average.`,
      registers,
      async collect() {
        const text = await files.read('/proc/loadavg');
        const l = text ? parseLoadavg(text) : undefined;
        if (l) this.set(l[i]);
      },
    });
  });

  const fsLabels = ['device', 'fstype', 'mountpoint'] as const;
  const dataFs = async () => {
    const [mountinfo, st] = await Promise.all([files.read('/proc/self/mountinfo'), files.statfs(opts.dataDir)]);
    const m = mountinfo ? mountOf(parseMountinfo(mountinfo), opts.dataDir) : undefined;
    return m && st ? { labels: { device: m.device, fstype: m.fstype, mountpoint: m.mountpoint }, st } : undefined;
  };
  new Gauge({
    name: 'node_filesystem_size_bytes',
    help: 'Filesystem size in bytes.',
    labelNames: fsLabels,
    registers,
    async collect() {
      this.reset();
      const fs = await dataFs();
      if (fs) this.set(fs.labels, fs.st.blocks * fs.st.bsize);
    },
  });
  new Gauge({
    name: 'node_filesystem_avail_bytes',
    help: 'Filesystem space available to non-root users in bytes.',
    labelNames: fsLabels,
    registers,
    async collect() {
      this.reset();
      const fs = await dataFs();
      if (fs) this.set(fs.labels, fs.st.bavail * fs.st.bsize);
    },
  });

  for (const [dir, name] of [
    ['receive', 'node_network_receive_bytes_total'],
    ['transmit', 'node_network_transmit_bytes_total'],
  ] as const) {
    new Counter({
      name,
      help: `Network device statistic ${dir}_bytes.`,
      labelNames: ['device'],
      registers,
      async collect() {
        const text = await files.read('/proc/net/dev');
        this.reset();
        for (const d of text ? parseNetDev(text) : []) this.inc({ device: d.device }, dir === 'receive' ? d.receiveBytes : d.transmitBytes);
      },
    });
  }

  // A Raspberry Pi's SoC sensor is thermal_zone0 (type cpu-thermal); machines without zones export nothing.
  new Gauge({
    name: 'node_thermal_zone_temp',
    help: 'Zone temperature in Celsius.',
    labelNames: ['zone', 'type'],
    registers,
    async collect() {
      this.reset();
      const base = '/sys/class/thermal';
      for (const entry of await files.list(base)) {
        const m = /^thermal_zone(\d+)$/.exec(entry);
        if (!m) continue;
        const [temp, type] = await Promise.all([files.read(join(base, entry, 'temp')), files.read(join(base, entry, 'type'))]);
        const celsius = temp ? parseThermalTemp(temp) : undefined;
        if (celsius !== undefined) this.set({ zone: m[1], type: type?.trim() ?? '' }, celsius);
      }
    },
  });
}
