import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors, isApiError } from '../../../src/api/errors.js';
import { resourceByKind } from '../../../src/api/resources.js';
import type { KObject } from '../../../src/api/types.js';
import { AdmissionChain, type AdmissionRequest } from '../../../src/server/admission.js';
import { qosClassOf } from '../../../src/server/handlers.js';

const request = (): AdmissionRequest => ({
  operation: 'CREATE',
  info: resourceByKind('Pod')!,
  namespace: 'default',
  name: 'web',
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' } } as KObject,
  user: { name: 'admin', groups: ['system:masters'] },
});

test('plugins run in order and may change the object', { timeout: 2_000 }, async () => {
  const seen: string[] = [];
  const chain = new AdmissionChain([
    { name: 'first', admit: (r) => void (seen.push('first'), (r.object.metadata.labels = { by: 'first' })) },
    { name: 'second', admit: async (r) => void seen.push(`second saw ${r.object.metadata.labels?.by}`) },
  ]);
  const req = request();
  await chain.admit(req);
  assert.deepEqual(seen, ['first', 'second saw first']);
  assert.deepEqual(req.object.metadata.labels, { by: 'first' });
  assert.deepEqual(chain.names, ['first', 'second']);
});

test('the first refusal stops the chain and passes through unchanged', { timeout: 2_000 }, async () => {
  let ran = false;
  const chain = new AdmissionChain([
    { name: 'quota', admit: () => { throw errors.forbidden('pods', 'web', 'exceeded quota: compute, requested: cpu=2, limited: cpu=1'); } },
    { name: 'later', admit: () => void (ran = true) },
  ]);
  await assert.rejects(chain.admit(request()), (e: unknown) => isApiError(e, 'Forbidden') && /exceeded quota/.test(e.message));
  assert.equal(ran, false);
});

test('an unexpected failure becomes an InternalError naming the plugin', { timeout: 2_000 }, async () => {
  const chain = new AdmissionChain([{ name: 'Broken', admit: () => { throw new TypeError('x is undefined'); } }]);
  await assert.rejects(chain.admit(request()), (e: unknown) => isApiError(e, 'InternalError') && e.message === 'admission plugin Broken failed: x is undefined');
});

test('an empty chain admits everything', { timeout: 2_000 }, async () => {
  await new AdmissionChain().admit(request());
});

test('QoS class from requests and limits', { timeout: 2_000 }, () => {
  const c = (resources: unknown) => ({ name: 'c', image: 'i', resources });
  assert.equal(qosClassOf({ containers: [c({})] }), 'BestEffort');
  assert.equal(qosClassOf({ containers: [c({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1000m', memory: '1Gi' } })] }), 'Guaranteed');
  assert.equal(qosClassOf({ containers: [c({ limits: { cpu: '1', memory: '1Gi' } })] }), 'Guaranteed');
  assert.equal(qosClassOf({ containers: [c({ requests: { cpu: '250m' } })] }), 'Burstable');
  assert.equal(qosClassOf({ containers: [c({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } })] }), 'Burstable');
  assert.equal(qosClassOf({ containers: [c({ limits: { cpu: '1', memory: '1Gi' } }), c({})] }), 'Burstable');
});

test('the dry-run chain runs the same plugins and tells each that nothing will be stored', { timeout: 2_000 }, async () => {
  const seen: (boolean | undefined)[] = [];
  const chain = new AdmissionChain([{ name: 'quota', admit: (r) => void seen.push(r.dryRun) }]);
  await chain.admit(request());
  await chain.forDryRun().admit(request());
  assert.deepEqual(seen, [undefined, true]);
  assert.deepEqual(chain.forDryRun().names, ['quota']);
});
