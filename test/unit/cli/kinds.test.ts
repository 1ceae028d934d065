import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../../../src/cli/errors.js';
import { objectRef, parseTargets, resolveResource, resourceForObject, suggestKind } from '../../../src/cli/kinds.js';

test('every kubectl spelling resolves', { timeout: 5_000 }, () => {
  for (const name of ['po', 'pod', 'pods', 'Pod', 'pods.v1', 'deploy', 'deployments.apps', 'Deployment', 'rc', 'ns', 'ev', 'cj']) {
    assert.ok(resolveResource(name), name);
  }
  assert.equal(resolveResource('rs').kind, 'ReplicaSet');
  assert.equal(resolveResource('deployments.apps').group, 'apps');
});

test('an unknown kind suggests the nearest one in the spelling style used', { timeout: 5_000 }, () => {
  assert.throws(() => resolveResource('pdos'), { message: 'no kind "pdos" is known; did you mean "pods"?' });
  assert.throws(() => resolveResource('deploymnets'), { message: 'no kind "deploymnets" is known; did you mean "deployments"?' });
  assert.throws(() => resolveResource('ReplicationContoller'), {
    message: 'no kind "ReplicationContoller" is known; did you mean "ReplicationController"?',
  });
  assert.throws(() => resolveResource('zzzzzzzz'), (e: unknown) => e instanceof CliError && /ctl api-resources/.test(e.message));
  assert.equal(suggestKind('xyzzy-plugh'), undefined);
});

test('manifest kinds are checked against apiVersion', { timeout: 5_000 }, () => {
  assert.equal(resourceForObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} }).plural, 'deployments');
  assert.throws(() => resourceForObject({ apiVersion: 'v1', kind: 'ReplicationContoller', metadata: {} }), {
    message: 'no kind "ReplicationContoller" is known; did you mean "ReplicationController"?',
  });
  assert.throws(() => resourceForObject({ apiVersion: 'extensions/v1beta1', kind: 'Deployment', metadata: {} }), /use apiVersion: apps\/v1/);
});

test('targets: KIND NAME..., KIND1,KIND2, KIND/NAME...', { timeout: 5_000 }, () => {
  const one = parseTargets(['pods', 'a', 'b']);
  assert.equal(one.length, 1);
  assert.equal(one[0].info.kind, 'Pod');
  assert.deepEqual(one[0].names, ['a', 'b']);

  const two = parseTargets(['pods,deploy']);
  assert.deepEqual(two.map((t) => t.info.kind), ['Pod', 'Deployment']);

  const slashed = parseTargets(['pod/a', 'deploy/web', 'po/b']);
  assert.deepEqual(slashed.map((t) => [t.info.kind, t.names]), [
    ['Pod', ['a', 'b']],
    ['Deployment', ['web']],
  ]);
  assert.throws(() => parseTargets([]), CliError);
  assert.throws(() => parseTargets(['pods,deploy', 'x']), /KIND\/NAME/);
  assert.throws(() => parseTargets(['pod/a', 'b']), /KIND\/NAME/);
});

test('object references as kubectl prints them', { timeout: 5_000 }, () => {
  assert.equal(objectRef(resolveResource('pod'), 'web'), 'pod/web');
  assert.equal(objectRef(resolveResource('deploy'), 'web'), 'deployment.apps/web');
});
