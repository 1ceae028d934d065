import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PodLogReply, PodLogRequest } from '../../bus/messages.js';
import { logDirOf, podDir } from './cri-config.js';

// Reads containers' CRI log files (DATA_DIR/pods/UID/logs/CONTAINER/ATTEMPT.log, one file per
// attempt) for `ctl logs`. Each line is `TIMESTAMP STREAM TAG MESSAGE`; tag P marks a line the
// runtime split (it cuts long lines), F the full or final part, so P parts are joined up to
// their F. Reads stop after the last complete line, and the reply says where, so a follower
// asks again from there and never sees half a line.

export interface CriLogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  message: string;
}

/** Most bytes of a file one reply carries; a reply must stay under NATS's 1 MB payload limit. */
export const maxReadBytes = 256 * 1024;

/**
 * Parses CRI log text. Returns the entries and how many bytes of `text` they used: a trailing
 * line without its newline, or P parts still waiting for their F, are left for the next read.
 */
export function parseCriLog(text: string): { entries: CriLogEntry[]; usedBytes: number } {
  const entries: CriLogEntry[] = [];
  let used = 0;
  let pos = 0;
  let bytes = 0;
  let pending: CriLogEntry | undefined;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break;
    const line = text.slice(pos, nl);
    pos = nl + 1;
    bytes += Buffer.byteLength(line) + 1;
    const m = /^(\S+) (stdout|stderr) ([PF])(?:\S*) ?(.*)$/s.exec(line);
    if (!m) {
      // Not CRI format (a runtime writing plain text): pass it through as it is.
      if (!pending) {
        entries.push({ time: '', stream: 'stdout', message: line });
        used = bytes;
      }
      continue;
    }
    const [, time, stream, tag, message] = m;
    pending = pending ? { ...pending, message: pending.message + message } : { time, stream: stream as CriLogEntry['stream'], message };
    if (tag === 'F') {
      entries.push(pending);
      pending = undefined;
      used = bytes;
    }
  }
  return { entries, usedBytes: used };
}

/** As kubectl prints them: the message, prefixed with its RFC 3339 timestamp when asked. */
export function formatEntries(entries: CriLogEntry[], timestamps: boolean): string {
  return entries.map((e) => (timestamps && e.time ? `${e.time} ${e.message}\n` : `${e.message}\n`)).join('');
}

/** The attempts of a container that have a log file, oldest first. */
async function attemptsOf(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^(\d+)\.log$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

async function readRange(path: string, offset: number, length: number): Promise<{ text: string; size: number }> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const want = Math.max(0, Math.min(length, size - offset));
    const buf = Buffer.alloc(want);
    const { bytesRead } = await fh.read(buf, 0, want, offset);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), size };
  } finally {
    await fh.close();
  }
}

const failure = (reason: 'NotFound' | 'BadRequest' | 'InternalError', message: string): PodLogReply => ({ v: 1, ok: false, error: { reason, message } });

/** Answers one log request from the files under the agent's data dir. */
export async function readContainerLog(dataDir: string, req: PodLogRequest): Promise<PodLogReply> {
  const dir = join(logDirOf(podDir(dataDir, req.uid)), req.container);
  const attempts = await attemptsOf(dir);
  let attempt: number | undefined;
  if (req.attempt !== undefined) attempt = attempts.includes(req.attempt) ? req.attempt : undefined;
  else attempt = req.previous ? attempts.at(-2) : attempts.at(-1);
  if (attempt === undefined) {
    return req.previous
      ? failure('BadRequest', `previous terminated container "${req.container}" in pod "${req.name}" not found`)
      : failure('NotFound', `no log for container "${req.container}" in pod "${req.name}" on this node`);
  }
  const path = join(dir, `${attempt}.log`);
  try {
    if (req.tailLines !== undefined && req.offset === undefined) {
      const whole = await readRange(path, 0, Number.MAX_SAFE_INTEGER);
      const { entries, usedBytes } = parseCriLog(whole.text);
      const text = formatEntries(req.tailLines === 0 ? [] : entries.slice(-req.tailLines), req.timestamps);
      return { v: 1, ok: true, text: text.slice(-maxReadBytes), attempt, offset: usedBytes, more: false };
    }
    const offset = req.offset ?? 0;
    const chunk = await readRange(path, offset, maxReadBytes);
    const { entries, usedBytes } = parseCriLog(chunk.text);
    const next = offset + usedBytes;
    return { v: 1, ok: true, text: formatEntries(entries, req.timestamps), attempt, offset: next, more: usedBytes > 0 && next < chunk.size };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return failure('NotFound', `the log of container "${req.container}" in pod "${req.name}" is gone`);
    return failure('InternalError', `reading the log of container "${req.container}" in pod "${req.name}" failed: ${err.message}`);
  }
}
