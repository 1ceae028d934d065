import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { PodLogRequest } from '../../../../src/bus/messages.js';
import { formatEntries, parseCriLog, readContainerLog } from '../../../../src/agent/pods/container-logs.js';

const dataDir = mkdtempSync(join(tmpdir(), 'skiff-container-logs-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('parses CRI lines, joins P parts up to their F and leaves incomplete ones for later', { timeout: 5_000 }, () => {
  const text = [
    '2026-01-01T00:00:00.000000001Z stdout F hello',
    '2026-01-01T00:00:01.000000001Z stderr P par',
    '2026-01-01T00:00:01.000000002Z stderr F tial',
    '2026-01-01T00:00:02.000000001Z stdout F ',
    '2026-01-01T00:00:03.000000001Z stdout P waiting for its F',
    '2026-01-01T00:00:04.000000001Z stdout F no newline yet',
  ].join('\n');
  const { entries, usedBytes } = parseCriLog(text);
  assert.deepEqual(
    entries.map((e) => [e.stream, e.message]),
    [['stdout', 'hello'], ['stderr', 'partial'], ['stdout', '']],
  );
  assert.equal(usedBytes, Buffer.byteLength(text.split('\n').slice(0, 4).join('\n') + '\n'));
  assert.equal(formatEntries(entries, false), 'hello\npartial\n\n');
  assert.equal(formatEntries(entries.slice(0, 1), true), '2026-01-01T00:00:00.000000001Z hello\n');
});

function writeLog(uid: string, container: string, attempt: number, lines: string[]): void {
  const dir = join(dataDir, 'pods', uid, 'logs', container);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${attempt}.log`), lines.map((l, i) => `2026-01-01T00:00:0${i}Z stdout F ${l}\n`).join(''));
}

const req = (over: Partial<PodLogRequest>): PodLogRequest => ({ v: 1, namespace: 'default', name: 'p', uid: 'u1', container: 'c', previous: false, timestamps: false, ...over });

test('reads the newest attempt, the previous one, the last N lines, and continues from an offset', { timeout: 5_000 }, async () => {
  writeLog('u1', 'c', 0, ['old-1', 'old-2']);
  writeLog('u1', 'c', 1, ['new-1', 'new-2', 'new-3']);
  const current = await readContainerLog(dataDir, req({}));
  assert.ok(current.ok, 'the current log is read');
  assert.equal(current.text, 'new-1\nnew-2\nnew-3\n');
  assert.equal(current.attempt, 1);
  const previous = await readContainerLog(dataDir, req({ previous: true }));
  assert.ok(previous.ok, 'the previous log is read');
  assert.equal(previous.text, 'old-1\nold-2\n');
  const tail = await readContainerLog(dataDir, req({ tailLines: 2 }));
  assert.ok(tail.ok, 'the tail is read');
  assert.equal(tail.text, 'new-2\nnew-3\n');
  const rest = await readContainerLog(dataDir, req({ attempt: 1, offset: tail.offset }));
  assert.ok(rest.ok, 'a read from the end is fine');
  assert.equal(rest.text, '');
});

test('a missing previous container is refused in Kubernetes words', { timeout: 5_000 }, async () => {
  writeLog('u2', 'only', 0, ['x']);
  const r = await readContainerLog(dataDir, req({ uid: 'u2', container: 'only', previous: true }));
  assert.ok(!r.ok, 'refused');
  assert.equal(r.error.message, 'previous terminated container "only" in pod "p" not found');
});
