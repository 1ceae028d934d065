import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../src/api/types.js';
import { checkContainerLogStatus, chooseContainer, parsePodLogQuery } from '../../../src/server/pod-logs.js';

const pod = (status: Pod['status'] = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', uid: 'u' },
  spec: { containers: [{ name: 'a', image: 'i' }, { name: 'b', image: 'i' }], initContainers: [{ name: 'setup', image: 'i' }], nodeName: 'n' },
  status,
});

test('the container must be named when there are several, and must exist', { timeout: 2_000 }, () => {
  assert.throws(() => chooseContainer(pod(), undefined), { message: 'a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [setup]' });
  assert.throws(() => chooseContainer(pod(), 'x'), { message: 'container x is not valid for pod web' });
  assert.equal(chooseContainer(pod(), 'setup'), 'setup');
});

test('a waiting container and a missing previous one are refused as the kubelet words it', { timeout: 2_000 }, () => {
  const waiting = pod({ containerStatuses: [{ name: 'a', ready: false, restartCount: 0, image: 'i', imageID: '', state: { waiting: { reason: 'ImagePullBackOff' } } }] });
  assert.throws(() => checkContainerLogStatus(waiting, 'a', false), { message: 'container "a" in pod "web" is waiting to start: trying and failing to pull image' });
  assert.throws(() => checkContainerLogStatus(waiting, 'a', true), { message: 'previous terminated container "a" in pod "web" not found' });
  assert.throws(() => checkContainerLogStatus(pod(), 'b', false), { message: 'container "b" in pod "web" is waiting to start: ContainerCreating' });
  const running = pod({ containerStatuses: [{ name: 'a', ready: true, restartCount: 0, image: 'i', imageID: '', state: { running: {} } }] });
  assert.doesNotThrow(() => checkContainerLogStatus(running, 'a', false));
});

test('query parameters as kubectl sends them', { timeout: 2_000 }, () => {
  assert.deepEqual(parsePodLogQuery(new URLSearchParams('container=a&tailLines=5&timestamps=true&follow=true')), { container: 'a', tailLines: 5, timestamps: true, previous: false, follow: true });
  assert.throws(() => parsePodLogQuery(new URLSearchParams('tailLines=-2')), /tailLines: Invalid value: "-2"/);
});
