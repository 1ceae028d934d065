import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Deployment, PodTemplateSpec, ReplicaSet } from '../../../src/api/types.js';
import {
  deploymentRolloutStatus,
  formatHistory,
  ownedReplicaSets,
  restartStamp,
  revisionHistory,
  rollbackChange,
  rollbackTarget,
  rolloutTargets,
} from '../../../src/cli/rollout.js';
import { checkCurrentReplicas } from '../../../src/cli/scale.js';
import { applyImageChanges, parseSetImageArgs } from '../../../src/cli/set-image.js';

const quick = { timeout: 5_000 };

function template(image: string, extraLabels: Record<string, string> = {}): PodTemplateSpec {
  return { metadata: { labels: { app: 'web', ...extraLabels } }, spec: { containers: [{ name: 'web', image }] } };
}

function rs(name: string, revision: string | undefined, image: string, owner = 'd-uid', annotations: Record<string, string> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      annotations: { ...annotations, ...(revision !== undefined ? { 'deployment.kubernetes.io/revision': revision } : {}) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner, controller: true }],
    },
    spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: template(image, { 'pod-template-hash': name.split('-')[1] }) },
  };
}

function deployment(image: string, over: Partial<Deployment['spec']> = {}, status: Deployment['status'] = {}, generation = 1): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', uid: 'd-uid', generation, annotations: { 'deployment.kubernetes.io/revision': '3', 'kubernetes.io/change-cause': 'now' } },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template(image), ...over },
    status,
  };
}

describe('rollout history and undo', () => {
  const sets = [rs('web-c', '3', 'img:3'), rs('web-a', '1', 'img:1'), rs('web-b', '2', 'img:2', 'd-uid', { 'kubernetes.io/change-cause': 'set image' }), rs('web-x', 'junk', 'img:x')];

  test('only ReplicaSets the Deployment controls count, ordered by revision; a bad revision annotation is skipped', quick, () => {
    const owned = ownedReplicaSets(deployment('img:3'), [...sets, rs('other-z', '9', 'img:z', 'someone-else')]);
    assert.deepEqual(owned.map((r) => r.metadata.name), ['web-c', 'web-a', 'web-b', 'web-x'], 'the other owner’s ReplicaSet is left out');
    assert.deepEqual([...revisionHistory(owned).keys()], [1, 2, 3], 'revisions in ascending order, without the unparsable one');
  });

  test('history prints kubectl’s REVISION CHANGE-CAUSE table', quick, () => {
    assert.equal(formatHistory(revisionHistory(sets)), 'REVISION  CHANGE-CAUSE\n1         <none>\n2         set image\n3         <none>\n', 'aligned with two spaces');
    assert.equal(formatHistory(new Map()), 'No rollout history found.\n', 'kubectl’s words for no history');
  });

  test('undo picks the revision before the newest, or the one asked for; unknown revisions are clear errors', quick, () => {
    assert.equal(rollbackTarget('web', sets, 0).metadata.name, 'web-b', 'the previous revision');
    assert.equal(rollbackTarget('web', sets, 1).metadata.name, 'web-a', 'revision 1');
    assert.throws(() => rollbackTarget('web', sets, 7), /unable to find specified revision 7 in history/, 'unknown revision');
    assert.throws(() => rollbackTarget('web', [sets[0]], 0), /no rollout history found for deployment "web"/, 'nothing to go back to');
    assert.throws(() => rollbackTarget('web', sets, -1), /unable to find specified revision -1/, 'negative revision');
  });

  test('undo copies the template without pod-template-hash, and the ReplicaSet’s annotations but keeps the Deployment’s own', quick, () => {
    const d = deployment('img:3');
    const change = rollbackChange(d, sets[2]);
    assert.ok(change, 'a different template is a change');
    assert.deepEqual(change.template, template('img:2'), 'the hash label is removed');
    assert.deepEqual(change.annotations, { 'deployment.kubernetes.io/revision': '3', 'kubernetes.io/change-cause': 'set image' }, 'revision kept, change-cause from the ReplicaSet');
    assert.equal(rollbackChange(d, sets[0]), undefined, 'the current template needs no rollback');
  });

  test('targets as deployment/NAME or deployment NAME; a bare kind is an error', quick, () => {
    assert.deepEqual(rolloutTargets(['deployment/web'], 'u').map((t) => [t.info.kind, t.name]), [['Deployment', 'web']], 'KIND/NAME');
    assert.deepEqual(rolloutTargets(['deploy', 'web', 'api'], 'u').map((t) => t.name), ['web', 'api'], 'KIND NAME NAME');
    assert.throws(() => rolloutTargets(['deploy'], 'ctl rollout undo deployment/web'), /you must name a deployment/, 'no name');
  });

  test('restartedAt is RFC 3339 without fractions', quick, () => {
    assert.equal(restartStamp(new Date('2026-12-01T20:01:02.345Z')), '2026-12-01T20:01:02Z', 'seconds precision, UTC');
  });
});

describe('rollout status messages', () => {
  const at = (status: Deployment['status'], generation = 1, replicas = 3) => deploymentRolloutStatus(deployment('img', { replicas }, status, generation));

  test('an unobserved spec change is waited for', quick, () => {
    assert.deepEqual(at({ observedGeneration: 1 }, 2), { message: 'Waiting for deployment spec update to be observed...', done: false }, 'generation ahead of observedGeneration');
  });

  test('kubectl’s three waiting lines, in its order, then success', quick, () => {
    assert.equal(at({ observedGeneration: 1, updatedReplicas: 1, replicas: 4 }).message, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...', 'updating');
    assert.equal(at({ observedGeneration: 1, updatedReplicas: 3, replicas: 4 }).message, 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', 'old ones going');
    assert.equal(at({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 1 }).message, 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...', 'becoming available');
    assert.deepEqual(at({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }), { message: 'deployment "web" successfully rolled out', done: true }, 'done');
  });

  test('a passed progress deadline is an error in kubectl’s words', quick, () => {
    const conditions = [{ type: 'Progressing', status: 'False' as const, reason: 'ProgressDeadlineExceeded' }];
    assert.throws(() => at({ observedGeneration: 1, updatedReplicas: 1, conditions }), /^CliError: deployment "web" exceeded its progress deadline$/, 'deadline');
  });
});

describe('set image and scale', () => {
  test('CONTAINER=IMAGE pairs and targets are told apart; an empty side is refused', quick, () => {
    assert.deepEqual(parseSetImageArgs(['deployment/web', 'web=a:1', '*=b:2']), { targetArgs: ['deployment/web'], changes: [{ container: 'web', image: 'a:1' }, { container: '*', image: 'b:2' }] }, 'parsed');
    assert.throws(() => parseSetImageArgs(['deployment/web']), /at least one image update is required/, 'no pairs');
    assert.throws(() => parseSetImageArgs(['deployment/web', 'web=']), /invalid image update "web="/, 'empty image');
  });

  test('images change in containers and init containers; * matches all; an unknown container is named', quick, () => {
    const d = deployment('old');
    d.spec.template.spec.initContainers = [{ name: 'init', image: 'old' }];
    assert.equal(applyImageChanges(d, [{ container: 'web', image: 'new' }]), true, 'a change');
    assert.equal(d.spec.template.spec.containers[0].image, 'new', 'the app container');
    assert.equal(d.spec.template.spec.initContainers[0].image, 'old', 'the init container is untouched');
    assert.equal(applyImageChanges(d, [{ container: '*', image: 'all' }]), true, 'a change');
    assert.deepEqual([d.spec.template.spec.initContainers[0].image, d.spec.template.spec.containers[0].image], ['all', 'all'], 'both');
    assert.equal(applyImageChanges(d, [{ container: 'web', image: 'all' }]), false, 'same image: no change');
    assert.throws(() => applyImageChanges(d, [{ container: 'db', image: 'x' }]), /unable to find container named "db" in deployment "web" \(its containers: init, web\)/, 'unknown');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
    assert.equal(applyImageChanges(pod, [{ container: 'c', image: 'y' }]), true, 'a pod’s own spec');
    assert.equal(pod.spec.containers[0].image, 'y', 'pod image set');
    assert.throws(() => applyImageChanges({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } }, [{ container: 'c', image: 'y' }]), /a Node has no pod template/, 'kind without pods');
  });

  test('--current-replicas is checked against the Scale', quick, () => {
    assert.doesNotThrow(() => checkCurrentReplicas({ spec: { replicas: 3 } }, 3), 'matching');
    assert.doesNotThrow(() => checkCurrentReplicas({ spec: { replicas: 3 } }, undefined), 'no precondition');
    assert.throws(() => checkCurrentReplicas({ spec: { replicas: 5 } }, 3), /^CliError: Expected replicas to be 3, was 5$/, 'kubectl’s words');
  });
});
