import type { Container, Pod } from '../../../../src/api/types.js';
import type { ObservedContainer, PodObservation } from '../../../../src/agent/pods/observation.js';

export function pod(spec: Partial<Pod['spec']> & { containers?: Container[] } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: { containers: [{ name: 'main', image: 'docker.io/library/busybox:1.36' }], restartPolicy: 'Always', ...spec },
  };
}

let seq = 0;
export function ctr(name: string, state: ObservedContainer['state'], more: Partial<ObservedContainer> = {}): ObservedContainer {
  seq++;
  return {
    id: `${name}-${seq}`.padEnd(12, '0'),
    sandboxId: 'sb1',
    name,
    kind: 'app',
    attempt: 0,
    state,
    createdAt: 1_000_000 + seq,
    startedAt: state === 'created' ? 0 : 1_000_100,
    finishedAt: state === 'exited' ? 1_000_200 : 0,
    exitCode: 0,
    reason: state === 'exited' ? 'Completed' : '',
    message: '',
    image: 'docker.io/library/busybox:1.36',
    imageRef: 'sha256:abc',
    ...more,
  };
}

export function obs(containers: ObservedContainer[], ready = true): PodObservation {
  return { sandboxes: [{ id: 'sb1', attempt: 0, ready, ip: '10.42.0.5', createdAt: 999_000 }], containers };
}
