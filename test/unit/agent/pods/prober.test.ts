import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Container, Pod, Probe } from '../../../../src/api/types.js';
import type { CriRuntime } from '../../../../src/cri/runtime.js';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, resolvePort } from '../../../../src/agent/pods/prober/handlers.js';
import { Prober, type ProbeMetricResult } from '../../../../src/agent/pods/prober/prober.js';
import { ProbeState, type AttemptResult } from '../../../../src/agent/pods/prober/state.js';
import { computePodStatus } from '../../../../src/agent/pods/status.js';
import { ctr, obs, pod } from './fixtures.js';

const log = pino({ level: 'silent' });

test('a result counts only after its threshold of attempts in a row', { timeout: 5000 }, () => {
  const s = new ProbeState('Readiness', { successThreshold: 2, failureThreshold: 3 });
  assert.equal(s.result, 'failure', 'a container with a readiness probe starts not ready');
  assert.equal(s.record('success'), false, 'one success of two needed changes nothing');
  assert.equal(s.record('success'), true, 'the second success in a row makes it ready');
  assert.equal(s.result, 'success', 'ready after two successes');
  s.record('failure');
  s.record('failure');
  s.record('success');
  s.record('failure');
  s.record('failure');
  assert.equal(s.result, 'success', 'failures interrupted by a success start counting again');
  assert.equal(s.record('failure'), true, 'the third failure in a row makes it unready');
  assert.equal(s.onHold, false, 'a failing readiness probe keeps probing');
  assert.equal(s.record('unknown'), false, 'an errored attempt changes nothing');
  assert.equal(s.record('success'), false, 'recovery needs the success threshold again');
  assert.equal(s.record('success'), true, 'and then is ready again');
});

test('liveness starts alive and holds once failed; startup is done after one success', { timeout: 5000 }, () => {
  const live = new ProbeState('Liveness', { successThreshold: 1, failureThreshold: 2 });
  assert.equal(live.result, 'success', 'a new container counts as alive');
  assert.equal(live.record('failure'), false, 'one failure of two is not enough');
  assert.equal(live.record('failure'), true, 'two failures in a row fail liveness');
  assert.equal(live.onHold, true, 'a failed liveness probe stops probing until the container is replaced');
  assert.equal(live.record('success'), false, 'attempts after the hold are ignored');
  assert.equal(live.result, 'failure', 'the failure stands until the container is replaced');

  const startup = new ProbeState('Startup', { successThreshold: 1, failureThreshold: 30 });
  assert.equal(startup.result, undefined, 'a startup probe has no result before its first');
  assert.equal(startup.record('success'), true, 'one success starts the container');
  assert.equal(startup.done, true, 'a startup probe that succeeded is done');
});

test('running containers are started and ready by their probes', { timeout: 5000 }, () => {
  const probe: Probe = { exec: { command: ['true'] } };
  const p = pod({ containers: [{ name: 'main', image: 'x', startupProbe: probe, readinessProbe: probe }] });
  const observed = obs([ctr('main', 'running')]);
  const at = (results: { startup?: 'success' | 'failure'; readiness?: 'success' | 'failure' }) => computePodStatus({ pod: p, observed, now: new Date(0), probes: () => results });
  const none = at({});
  assert.equal(none.containerStatuses![0].started, false, 'not started before the startup probe succeeds');
  assert.equal(none.containerStatuses![0].ready, false, 'not ready before the readiness probe succeeds');
  assert.equal(none.conditions!.find((c) => c.type === 'Ready')?.status, 'False', 'the pod is not Ready');
  const startedOnly = at({ startup: 'success' });
  assert.equal(startedOnly.containerStatuses![0].started, true, 'started after the startup probe');
  assert.equal(startedOnly.containerStatuses![0].ready, false, 'still not ready until readiness passes');
  const both = at({ startup: 'success', readiness: 'success' });
  assert.equal(both.containerStatuses![0].ready, true, 'ready once both passed');
  assert.equal(both.conditions!.find((c) => c.type === 'ContainersReady')?.status, 'True', 'ContainersReady follows');
  assert.equal(at({ readiness: 'success' }).containerStatuses![0].ready, false, 'readiness counts only once started');
});

interface Harness {
  prober: Prober;
  changes: string[];
  events: string[];
  metrics: string[];
  /** What the next attempts of a probe type give. */
  script: Map<string, AttemptResult>;
  attempts: Map<string, number>;
}

function harness(): Harness {
  const h: Harness = { changes: [], events: [], metrics: [], script: new Map(), attempts: new Map() } as unknown as Harness;
  h.prober = new Prober({
    runtime: {} as CriRuntime,
    log,
    onChange: (uid) => h.changes.push(uid),
    event: (_pod, type, reason, message) => h.events.push(`${type} ${reason} ${message}`),
    onProbeResult: (type, result: ProbeMetricResult, ns, name, container) => h.metrics.push(`${type} ${result} ${ns}/${name}/${container}`),
    attempt: async (probe) => {
      const kind = probe.exec!.command![0];
      h.attempts.set(kind, (h.attempts.get(kind) ?? 0) + 1);
      const result = h.script.get(kind) ?? 'success';
      return { result, output: `${kind} said ${result}` };
    },
  });
  return h;
}

const fast = (kind: string, more: Partial<Probe> = {}): Probe => ({ exec: { command: [kind] }, periodSeconds: 0.02 as number, failureThreshold: 2, successThreshold: 1, timeoutSeconds: 1, ...more });
const podWith = (c: Partial<Container>): Pod => pod({ containers: [{ name: 'main', image: 'x', ...c }] });
const until = async (what: string, cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('a liveness probe failing failureThreshold times marks the container for restart, with events and metrics', { timeout: 10_000 }, async () => {
  const h = harness();
  const p = podWith({ livenessProbe: fast('live') });
  h.prober.sync(p, [{ name: 'main', id: 'c1', startedAt: Date.now() }], '10.0.0.1');
  assert.equal(h.prober.workerCount, 1, 'one worker per probe');
  await until('a few successful attempts', () => (h.attempts.get('live') ?? 0) >= 2);
  assert.equal(h.prober.failure('u1', 'c1'), undefined, 'a passing liveness probe asks for no restart');
  h.script.set('live', 'failure');
  await until('the liveness failure', () => h.prober.failure('u1', 'c1') !== undefined);
  assert.equal(h.prober.failure('u1', 'c1')?.type, 'Liveness', 'the failure names the liveness probe');
  assert.ok(h.changes.includes('u1'), 'the pod worker is told');
  assert.ok(h.events.includes('Warning Unhealthy Liveness probe failed: live said failure'), `the Unhealthy event carries the output: ${h.events.join('; ')}`);
  assert.ok(h.metrics.includes('Liveness successful default/p/main') && h.metrics.includes('Liveness failed default/p/main'), 'every attempt reaches the metrics callback');
  const n = h.attempts.get('live');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(h.attempts.get('live'), n, 'a failed liveness probe stops probing its container');
  // The restarted container has a new id: its probes start over.
  h.script.set('live', 'success');
  h.prober.sync(p, [{ name: 'main', id: 'c2', startedAt: Date.now() }], '10.0.0.1');
  assert.equal(h.prober.failure('u1', 'c2'), undefined, 'a replaced container starts alive');
  assert.equal(h.prober.workerCount, 1, 'the old container’s worker is gone');
  h.prober.stop();
  assert.equal(h.prober.workerCount, 0, 'stop ends every worker');
});

test('a startup probe holds liveness and readiness until it succeeds', { timeout: 10_000 }, async () => {
  const h = harness();
  h.script.set('startup', 'failure');
  const p = podWith({ startupProbe: fast('startup', { failureThreshold: 1000 }), livenessProbe: fast('live'), readinessProbe: fast('ready') });
  h.prober.sync(p, [{ name: 'main', id: 'c1', startedAt: Date.now() }], '10.0.0.1');
  await until('several startup attempts', () => (h.attempts.get('startup') ?? 0) >= 4);
  assert.equal(h.attempts.get('live') ?? 0, 0, 'liveness does not run before startup succeeds');
  assert.equal(h.attempts.get('ready') ?? 0, 0, 'readiness does not run before startup succeeds');
  assert.deepEqual(h.prober.results('u1', 'c1'), { startup: undefined, readiness: 'failure' }, 'not started, not ready');
  h.script.set('startup', 'success');
  await until('readiness after startup', () => h.prober.results('u1', 'c1').readiness === 'success');
  assert.equal(h.prober.results('u1', 'c1').startup, 'success', 'started');
  await until('liveness after startup', () => (h.attempts.get('live') ?? 0) > 0);
  const startupAttempts = h.attempts.get('startup');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(h.attempts.get('startup'), startupAttempts, 'a startup probe stops once it succeeded');
  h.script.set('ready', 'failure');
  await until('readiness failing', () => h.prober.results('u1', 'c1').readiness === 'failure');
  assert.equal(h.prober.failure('u1', 'c1'), undefined, 'a failing readiness probe never restarts the container');
  h.prober.forget('u1');
  assert.equal(h.prober.workerCount, 0, 'forget ends the pod’s workers');
});

test('a startup probe that fails its threshold restarts the container', { timeout: 10_000 }, async () => {
  const h = harness();
  h.script.set('startup', 'failure');
  h.prober.sync(podWith({ startupProbe: fast('startup') }), [{ name: 'main', id: 'c1', startedAt: Date.now() }], '10.0.0.1');
  await until('the startup failure', () => h.prober.failure('u1', 'c1') !== undefined);
  assert.equal(h.prober.failure('u1', 'c1')?.type, 'Startup', 'the failure names the startup probe');
  h.prober.stop();
});

test('initialDelaySeconds holds the first attempt', { timeout: 10_000 }, async () => {
  const h = harness();
  h.prober.sync(podWith({ livenessProbe: fast('live', { initialDelaySeconds: 0.3 }) }), [{ name: 'main', id: 'c1', startedAt: Date.now() }], '10.0.0.1');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(h.attempts.get('live') ?? 0, 0, 'no attempt before the initial delay');
  await until('an attempt after the delay', () => (h.attempts.get('live') ?? 0) > 0);
  h.prober.stop();
});

test('ports by name, and the grpc health messages', { timeout: 5000 }, () => {
  const ports = [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' as const }];
  assert.equal(resolvePort('http', ports), 8080, 'a named port is the container port of that name');
  assert.equal(resolvePort(9000, ports), 9000, 'a number is the port');
  assert.equal(resolvePort('dns', ports), undefined, 'a UDP port is no probe target');
  assert.equal(resolvePort('nope', ports), undefined, 'an unknown name resolves to nothing');
  assert.equal(encodeHealthCheckRequest('').length, 0, 'the empty service is the empty message');
  assert.deepEqual([...encodeHealthCheckRequest('ab')], [0x0a, 2, 0x61, 0x62], 'service is field 1, length-delimited');
  assert.equal(decodeHealthCheckResponse(Buffer.from([0x08, 0x01])), 1, 'SERVING is status 1');
  assert.equal(decodeHealthCheckResponse(Buffer.from([0x08, 0x02])), 2, 'NOT_SERVING is status 2');
  assert.equal(decodeHealthCheckResponse(Buffer.alloc(0)), 0, 'an empty response is UNKNOWN');
});
