import type { ControlPlaneMetrics } from '../metrics/control-plane.js';
import type { Store } from '../store/store.js';

// The store with every asynchronous operation timed into the store latency histogram, by
// operation and resource, so callers (API, scheduler, controllers, NATS plane) need not know.

const timed = new Set(['get', 'list', 'create', 'update', 'guaranteedUpdate', 'delete', 'compact']);

/** The resource an operation is about: its first argument's name or `resource` field. */
function resourceOf(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof (arg as { resource?: unknown }).resource === 'string') return (arg as { resource: string }).resource;
  return '';
}

export function instrumentStore(store: Store, metrics: ControlPlaneMetrics): Store {
  // Wrappers are made once per method: the hot paths call the store tens of thousands of times a second.
  const wrapped = new Map<string, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string') return value.bind(target);
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...a: unknown[]) => Promise<unknown>;
        fn = !timed.has(prop)
          ? method.bind(target)
          : (...args: unknown[]) => {
              const started = performance.now();
              return method.apply(target, args).finally(() => metrics.storeRequest(prop, resourceOf(args[0]), (performance.now() - started) / 1000));
            };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
