import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Node } from '../api/types.js';

// The control plane's /metrics: the API server's requests (kube-apiserver's names), store
// latency, watches, the scheduler's attempts and queue (kube-scheduler's names), nodes by
// condition (kube-state-metrics' kube_node_status_condition) and the NATS plane. Counters and
// histograms are fed as things happen; gauges ask their source when Prometheus scrapes.

export type ScheduleResult = 'scheduled' | 'unschedulable' | 'error';

/** What the scheduler reports; the control plane passes ControlPlaneMetrics itself. */
export interface SchedulerMetrics {
  scheduleAttempt(result: ScheduleResult, seconds: number): void;
}

export interface ControlPlaneSources {
  /** Open watch streams of the API server. */
  watchers?: () => number;
  /** The scheduler's queue sizes. */
  pendingPods?: () => { active: number; backoff: number; unschedulable: number };
  nodes?: () => Promise<Node[]>;
  nats?: () => { connected: boolean; inMsgs: number; outMsgs: number; inBytes: number; outBytes: number };
}

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];
const storeBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ControlPlaneMetrics implements SchedulerMetrics {
  readonly registry = new Registry();
  readonly sources: ControlPlaneSources = {};
  private readonly requests: Counter<'verb' | 'resource' | 'code'>;
  private readonly requestDuration: Histogram<'verb' | 'resource'>;
  private readonly storeDuration: Histogram<'operation' | 'resource'>;
  private readonly attempts: Counter<'result'>;
  private readonly attemptDuration: Histogram<'result'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, resource and HTTP response code.',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb and resource (watches: until the stream ends).',
      labelNames: ['verb', 'resource'],
      buckets: latencyBuckets,
      registers,
    });
    this.storeDuration = new Histogram({
      name: 'skiff_store_request_duration_seconds',
      help: 'Latency of store operations in seconds, by operation and resource.',
      labelNames: ['operation', 'resource'],
      buckets: storeBuckets,
      registers,
    });
    this.attempts = new Counter({
      name: 'scheduler_schedule_attempts_total',
      help: 'Number of attempts to schedule pods, by the result: scheduled, unschedulable or error.',
      labelNames: ['result'],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'scheduler_scheduling_attempt_duration_seconds',
      help: 'Scheduling attempt latency in seconds (decision plus binding), by result.',
      labelNames: ['result'],
      buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384],
      registers,
    });
    const sources = this.sources;
    new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Number of currently open watch streams.',
      registers,
      collect() {
        this.set(sources.watchers?.() ?? 0);
      },
    });
    new Gauge({
      name: 'scheduler_pending_pods',
      help: 'Number of pending pods, by the queue type: active, backoff or unschedulable.',
      labelNames: ['queue'],
      registers,
      collect() {
        const q = sources.pendingPods?.();
        this.reset();
        if (q) for (const queue of ['active', 'backoff', 'unschedulable'] as const) this.set({ queue }, q[queue]);
      },
    });
    new Gauge({
      name: 'kube_node_status_condition',
      help: 'The condition of a cluster node: 1 for the status the condition has, 0 for the others.',
      labelNames: ['node', 'condition', 'status'],
      registers,
      async collect() {
        const nodes = (await sources.nodes?.()) ?? [];
        this.reset();
        for (const n of nodes) {
          for (const c of n.status?.conditions ?? []) {
            for (const status of ['true', 'false', 'unknown']) this.set({ node: n.metadata.name ?? '', condition: c.type, status }, c.status.toLowerCase() === status ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'skiff_nats_connected',
      help: "Whether the control plane's own NATS connection is up (1) or not (0).",
      registers,
      collect() {
        this.set(sources.nats?.().connected ? 1 : 0);
      },
    });
    for (const [key, name, help] of [
      ['inMsgs', 'skiff_nats_messages_received_total', 'Messages the control plane received over NATS.'],
      ['outMsgs', 'skiff_nats_messages_sent_total', 'Messages the control plane sent over NATS.'],
      ['inBytes', 'skiff_nats_received_bytes_total', 'Bytes the control plane received over NATS.'],
      ['outBytes', 'skiff_nats_sent_bytes_total', 'Bytes the control plane sent over NATS.'],
    ] as const) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(sources.nats?.()[key] ?? 0);
        },
      });
    }
  }

  apiRequest(verb: string, resource: string, code: number, seconds: number): void {
    this.requests.inc({ verb, resource, code: String(code) });
    this.requestDuration.observe({ verb, resource }, seconds);
  }

  storeRequest(operation: string, resource: string, seconds: number): void {
    this.storeDuration.observe({ operation, resource }, seconds);
  }

  scheduleAttempt(result: ScheduleResult, seconds: number): void {
    this.attempts.inc({ result });
    this.attemptDuration.observe({ result }, seconds);
  }
}
