// The foundation end to end: a real `ctl server` on loopback, driven only through the built `ctl`.
// No nodes join, so pods stay Pending; what is checked is the API round trip, the printers and
// the error messages users meet.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resourceByKind } from '../../src/api/resources.js';
import { fixture, fixturePath, freePort, runCtl, TestCluster, type CtlResult } from './harness.js';

const quick = { timeout: 30_000 };
const noStack = (r: CtlResult) => assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace printed:\n${r.stderr}`);

function ok(r: CtlResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

describe('foundation: ctl against a real control plane', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  const write = (name: string, text: string) => {
    const p = join(work, name);
    writeFileSync(p, text);
    return p;
  };

  before(async () => {
    cluster = await TestCluster.start();
    work = cluster.tempDir('manifests');
  }, { timeout: 120_000 });

  after(async () => {
    await cluster?.stop();
  }, { timeout: 60_000 });

  test('apply creates, re-apply is unchanged, a change is configured, fields set by others are kept', quick, async () => {
    const files = ['namespace.yaml', 'pod-resources.yaml', 'deployment-nginx.yaml'].flatMap((f) => ['-f', fixturePath(f)]);
    const first = await cluster.ctl(['apply', ...files]);
    ok(first, 'first apply');
    assert.equal(first.stdout, 'namespace/development created\npod/frontend created\ndeployment.apps/my-nginx created\n');

    const again = await cluster.ctl(['apply', ...files]);
    ok(again, 'second apply');
    assert.equal(again.stdout, 'namespace/development unchanged\npod/frontend unchanged\ndeployment.apps/my-nginx unchanged\n');

    // Something other than apply (a controller, a person) sets an annotation on the live object.
    const client = cluster.client();
    try {
      await client.patch(resourceByKind('Deployment')!, 'default', 'my-nginx', { metadata: { annotations: { 'example.com/owner': 'team-a' } } });
    } finally {
      client.close();
    }

    const changed = write('deployment.yaml', fixture('deployment-nginx.yaml').replace('replicas: 3', 'replicas: 2'));
    const third = await cluster.ctl(['apply', '-f', changed]);
    ok(third, 'apply of a change');
    assert.equal(third.stdout, 'deployment.apps/my-nginx configured\n');

    const got = await cluster.ctl(['get', 'deployment', 'my-nginx', '-o', 'json']);
    ok(got, 'get deployment');
    const dep = JSON.parse(got.stdout);
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.metadata.annotations['example.com/owner'], 'team-a', 'apply wiped an annotation it never set');
    assert.ok(dep.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], 'last-applied annotation missing');

    const fourth = await cluster.ctl(['apply', '-f', changed]);
    assert.equal(fourth.stdout, 'deployment.apps/my-nginx unchanged\n');
  });

  test('apply reads stdin, multi-document YAML and kind: List', quick, async () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'staging' } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'worker', namespace: 'staging', labels: { app: 'worker' } }, spec: { containers: [{ name: 'w', image: 'docker.io/library/busybox:1.36' }] } },
      ],
    });
    const r = await cluster.ctl(['apply', '-f', '-'], { stdin: list });
    ok(r, 'apply from stdin');
    assert.equal(r.stdout, 'namespace/staging created\npod/worker created\n');
  });

  test('a pod with no nodes to run on stays Pending', quick, async () => {
    const r = await cluster.ctl(['get', 'pods']);
    ok(r, 'get pods');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^NAME\s{3,}READY\s{3}STATUS\s{3,}RESTARTS\s{3}AGE$/);
    assert.ok(lines.some((l) => /^frontend\s{3,}0\/1\s{3,}Pending\s{3,}0\s{3,}\d+s$/.test(l)), r.stdout);
  });

  test('get -w prints a new line when another apply changes the pod', quick, async () => {
    const watch = cluster.spawnCtl(['get', 'pods', 'frontend', '-w']);
    try {
      await watch.waitForOutput(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nfrontend\s+0\/1\s+Pending/m);
      const relabelled = fixture('pod-resources.yaml').replace('app: frontend', 'app: frontend\n    track: canary');
      const r = await cluster.ctl(['apply', '-f', '-'], { stdin: relabelled });
      ok(r, 'apply of the relabelled pod');
      assert.equal(r.stdout, 'pod/frontend configured\n');
      await watch.waitForOutput(/^frontend\s+0\/1\s+Pending.*\n(?:.*\n)*frontend\s+0\/1\s+Pending/m);
      assert.equal(watch.stdout.match(/^NAME/gm)?.length, 1, 'the header is printed once');
    } finally {
      await watch.stop();
    }
  });

  test('get -w survives a control-plane restart and shows changes made after it', { timeout: 90_000 }, async () => {
    const watch = cluster.spawnCtl(['get', 'pods', '-w', '-o', 'name']);
    try {
      await watch.waitForOutput(/^pod\/frontend$/m);
      await cluster.restartServer();
      const r = await cluster.ctl(['apply', '-f', '-'], { stdin: fixture('pod-init-containers.yaml') });
      ok(r, 'apply after the restart');
      await watch.waitForOutput(/^pod\/myapp-pod$/m, 30_000);
    } finally {
      await watch.stop();
    }
    ok(await cluster.ctl(['delete', 'pod', 'myapp-pod']), 'delete of the pod made for the restart test');
  });

  test('output formats: json, yaml, name, wide, labels and no headers', quick, async () => {
    const json = await cluster.ctl(['get', 'pod', 'frontend', '-o', 'json']);
    ok(json, 'get -o json');
    const pod = JSON.parse(json.stdout);
    assert.equal(pod.kind, 'Pod');
    assert.equal(pod.metadata.name, 'frontend');

    const list = JSON.parse((await cluster.ctl(['get', 'pods', '-o', 'json'])).stdout);
    assert.equal(list.kind, 'List');
    assert.ok(list.items.every((i: { kind: string }) => i.kind === 'Pod'));

    const yaml = await cluster.ctl(['get', 'po/frontend', '-o', 'yaml']);
    ok(yaml, 'get -o yaml');
    assert.match(yaml.stdout, /^apiVersion: v1\nkind: Pod\nmetadata:\n/);

    const names = await cluster.ctl(['get', 'pods,deployments', '-o', 'name']);
    ok(names, 'get -o name');
    assert.match(names.stdout, /^pod\/frontend$/m);
    assert.match(names.stdout, /^deployment\.apps\/my-nginx$/m);

    const wide = await cluster.ctl(['get', 'pods', '-o', 'wide']);
    ok(wide, 'get -o wide');
    assert.match(wide.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
    assert.match(wide.stdout, /^frontend\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s+<none>\s+<none>$/m);

    const labels = await cluster.ctl(['get', 'pods', '--show-labels', '--no-headers']);
    ok(labels, 'get --show-labels');
    assert.doesNotMatch(labels.stdout, /^NAME/m);
    assert.match(labels.stdout, /^frontend\s.*app=frontend,track=canary$/m);

    const deploy = await cluster.ctl(['get', 'deploy']);
    assert.match(deploy.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nmy-nginx\s+\d+\/2\s/m);
    const ns = await cluster.ctl(['get', 'namespaces']);
    assert.match(ns.stdout, /^NAME\s+STATUS\s+AGE$/m);
    assert.match(ns.stdout, /^development\s+Active\s+\S+$/m);
  });

  test('selectors and namespaces: -l, --field-selector, -n, -A', quick, async () => {
    const sel = await cluster.ctl(['get', 'pods', '-l', 'app=frontend', '-o', 'name']);
    ok(sel, 'get -l');
    assert.equal(sel.stdout, 'pod/frontend\n');

    const none = await cluster.ctl(['get', 'pods', '-l', 'app=nothing']);
    ok(none, 'get -l with no match');
    assert.equal(none.stdout, '');
    assert.equal(none.stderr, 'No resources found in default namespace.\n');

    const field = await cluster.ctl(['get', 'pods', '--field-selector', 'metadata.name=frontend', '-o', 'name']);
    assert.equal(field.stdout, 'pod/frontend\n');

    const other = await cluster.ctl(['get', 'pods', '-n', 'staging', '-o', 'name']);
    assert.equal(other.stdout, 'pod/worker\n');

    const all = await cluster.ctl(['get', 'pods', '-A']);
    ok(all, 'get -A');
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    assert.match(all.stdout, /^default\s+frontend\s+0\/1\s+Pending/m);
    assert.match(all.stdout, /^staging\s+worker\s+0\/1\s+Pending/m);
  });

  test('describe ends with the events of the object', quick, async () => {
    const pod = JSON.parse((await cluster.ctl(['get', 'pod', 'frontend', '-o', 'json'])).stdout);
    const now = new Date().toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'frontend.e2e', namespace: 'default' },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'frontend', namespace: 'default', uid: pod.metadata.uid },
      reason: 'E2EProbe',
      message: 'hello from the e2e test',
      type: 'Warning',
      source: { component: 'e2e-test' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    ok(await cluster.ctl(['apply', '-f', '-'], { stdin: JSON.stringify(event) }), 'apply of an Event');

    const r = await cluster.ctl(['describe', 'pod', 'frontend']);
    ok(r, 'describe pod');
    assert.match(r.stdout, /^Name:\s+frontend\nNamespace:\s+default\n/);
    assert.match(r.stdout, /^Status:\s+Pending$/m);
    assert.match(r.stdout, /^Containers:\n {2}app:\n {4}Image:\s+docker\.io\/library\/busybox:1\.36$/m);
    assert.match(r.stdout, /^Events:\n {2}Type\s+Reason\s+Age\s+From\s+Message\n {2}----\s+------\s+----\s+----\s+-------\n/m);
    assert.match(r.stdout, /^ {2}Warning\s+E2EProbe\s+\d+s\s+e2e-test\s+hello from the e2e test$/m);

    const events = await cluster.ctl(['get', 'events']);
    assert.match(events.stdout, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/m);
    assert.match(events.stdout, /^\d+s\s+Warning\s+E2EProbe\s+pod\/frontend\s+hello from the e2e test$/m);

    const dep = await cluster.ctl(['describe', 'deploy/my-nginx']);
    ok(dep, 'describe deployment');
    assert.match(dep.stdout, /^Replicas:\s+2 desired \|/m);
    assert.match(dep.stdout, /^Events:/m);
  });

  test('create -f refuses an existing object and makes a new one', quick, async () => {
    const exists = await cluster.ctl(['create', '-f', fixturePath('pod-resources.yaml')]);
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /^Error from server \(AlreadyExists\): .*pods "frontend" already exists$/m);
    noStack(exists);
    const made = await cluster.ctl(['create', '-f', fixturePath('pod-init-containers.yaml')]);
    ok(made, 'create');
    assert.equal(made.stdout, 'pod/myapp-pod created\n');
  });

  test('delete by name, by file, by label, and --ignore-not-found', quick, async () => {
    const byName = await cluster.ctl(['delete', 'pod', 'myapp-pod']);
    ok(byName, 'delete pod');
    assert.equal(byName.stdout, 'pod "myapp-pod" deleted\n');
    const gone = await cluster.ctl(['get', 'pod', 'myapp-pod']);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'Error from server (NotFound): pods "myapp-pod" not found\n');

    const again = await cluster.ctl(['delete', 'pod', 'myapp-pod']);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'Error from server (NotFound): pods "myapp-pod" not found\n');
    ok(await cluster.ctl(['delete', 'pod', 'myapp-pod', '--ignore-not-found']), 'delete --ignore-not-found');

    const byFile = await cluster.ctl(['delete', '-f', fixturePath('deployment-nginx.yaml')]);
    ok(byFile, 'delete -f');
    assert.equal(byFile.stdout, 'deployment.apps "my-nginx" deleted\n');

    const byLabel = await cluster.ctl(['delete', 'pods', '-l', 'app=worker', '-n', 'staging']);
    ok(byLabel, 'delete -l');
    assert.equal(byLabel.stdout, 'pod "worker" deleted\n');

    const noName = await cluster.ctl(['delete', 'pods']);
    assert.equal(noName.code, 1);
    assert.match(noName.stderr, /no name was specified/);
  });

  test('an invalid object is refused with every field error, one per line', quick, async () => {
    const r = await cluster.ctl(['apply', '-f', fixturePath('bad-pod.yaml')]);
    assert.equal(r.code, 1);
    noStack(r);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'The Pod "Bad_Name" is invalid:');
    assert.ok(lines.includes('* spec.containers[0].image: Required value'), r.stderr);
    assert.ok(lines.includes('* spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'), r.stderr);
    assert.ok(lines.slice(1).every((l) => l.startsWith('* ')), r.stderr);
    assert.ok(lines.length >= 15, `expected every field error, got:\n${r.stderr}`);
  });

  test('an unknown kind is named, with the nearest known one', quick, async () => {
    const file = write('rc.yaml', fixture('replicationcontroller.yaml').replace('kind: ReplicationController', 'kind: ReplicationContoller'));
    const r = await cluster.ctl(['apply', '-f', file]);
    assert.equal(r.code, 1);
    noStack(r);
    assert.match(r.stderr, /no kind "ReplicationContoller" is known; did you mean "ReplicationController"\?\n$/);
    assert.ok(r.stderr.includes(`${file}:1:1:`), r.stderr);

    const get = await cluster.ctl(['get', 'replicationcontoller']);
    assert.equal(get.code, 1);
    assert.equal(get.stderr, 'error: no kind "replicationcontoller" is known; did you mean "replicationcontroller"?\n');
  });

  test('bad YAML is reported as FILE:LINE:COL', quick, async () => {
    const file = write('broken.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n    image: "busybox\n');
    const r = await cluster.ctl(['apply', '-f', file]);
    assert.equal(r.code, 1);
    noStack(r);
    const m = new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+): (.+)\\n$`).exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.ok(Number(m[1]) >= 8, `line ${m[1]} should point at the unclosed quote`);
    assert.match(m[3], /quote/);
  });

  test('no server: says where it looked and what to do', quick, async () => {
    const port = await freePort();
    const text = readFileSync(cluster.kubeconfig, 'utf8').replace(/server: https:\/\/[^\s]+/, `server: https://127.0.0.1:${port}`);
    const kc = write('dead.kubeconfig', text);
    const r = await runCtl(['get', 'pods'], { env: { KUBECONFIG: kc } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `error: cannot reach the control plane at https://127.0.0.1:${port}: is 'ctl server' running? (set --kubeconfig or KUBECONFIG)\n`);
  });

  test('missing kubeconfig: names the path tried and how to set one', quick, async () => {
    const missing = join(work, 'nope', 'admin.kubeconfig');
    const viaEnv = await runCtl(['get', 'pods'], { env: { KUBECONFIG: missing } });
    assert.equal(viaEnv.code, 1);
    noStack(viaEnv);
    assert.match(viaEnv.stderr, new RegExp(`^error: no kubeconfig at ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(from \\$KUBECONFIG\\)`));
    assert.match(viaEnv.stderr, /--kubeconfig PATH or set KUBECONFIG=PATH/);
    const viaFlag = await runCtl(['--kubeconfig', missing, 'get', 'pods']);
    assert.match(viaFlag.stderr, /\(from --kubeconfig\)/);
  });

  test('api-resources and version', quick, async () => {
    const r = await cluster.ctl(['api-resources']);
    ok(r, 'api-resources');
    assert.match(r.stdout, /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/m);
    assert.match(r.stdout, /^pods\s+po\s+v1\s+true\s+Pod$/m);
    assert.match(r.stdout, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    assert.match(r.stdout, /^nodes\s+no\s+v1\s+false\s+Node$/m);

    const v = await cluster.ctl(['version']);
    ok(v, 'version');
    assert.match(v.stdout, /^Client Version: v\d+\.\d+\.\d+\nServer Version: v?\d+\.\d+/);
    const client = await runCtl(['version', '--client']);
    assert.match(client.stdout, /^Client Version: v\d+\.\d+\.\d+\n$/);
  });
});
