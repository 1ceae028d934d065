import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStaticPod } from '../../../src/agent/static-pods.js';

const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: { app: web }
spec:
  containers:
  - name: main
    image: docker.io/library/busybox:1.36
    command: ['sleep', '3600']
`;

test('a manifest becomes the pod NAME-NODENAME bound to the node, with the file source annotations', () => {
  const r = parseStaticPod('/m/web.yaml', manifest, 'edge-1');
  assert.ok(r.ok, `a valid manifest parses: ${r.ok ? '' : r.error}`);
  const pod = r.pod;
  assert.equal(pod.metadata.name, 'web-edge-1', 'named after the manifest and the node');
  assert.equal(pod.metadata.namespace, 'default', 'the default namespace when none is given');
  assert.equal(pod.spec.nodeName, 'edge-1', 'bound to the node that runs it');
  assert.equal(pod.metadata.annotations?.['kubernetes.io/config.source'], 'file', 'config.source says file');
  assert.equal(pod.metadata.annotations?.['kubernetes.io/config.hash'], pod.metadata.uid, 'config.hash is the UID');
  assert.match(pod.metadata.uid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a UUID-shaped UID');
  assert.deepEqual(pod.metadata.labels, { app: 'web' }, 'labels are kept');
  assert.equal(pod.spec.restartPolicy, 'Always', 'Kubernetes defaults are applied');
});

test('the UID follows the content and the node: same file same UID, an edit or another node a new one', () => {
  const uid = (text: string, node = 'edge-1') => {
    const r = parseStaticPod('/m/web.yaml', text, node);
    assert.ok(r.ok, 'the manifest parses');
    return r.pod.metadata.uid;
  };
  assert.equal(uid(manifest), uid(manifest), 'stable across reads');
  assert.notEqual(uid(manifest), uid(manifest.replace('3600', '60')), 'an edited spec is a new pod');
  assert.notEqual(uid(manifest), uid(manifest, 'edge-2'), 'another node runs another pod');
});

test('bad manifests give an error naming the file and the problem, never a throw', () => {
  const cases: [string, RegExp][] = [
    ['apiVersion: v1\nkind: Pod\nmetadata: {name: web\n', /not valid YAML or JSON/],
    ['', /holds 0 documents/],
    [`${manifest}---\n${manifest}`, /holds 2 documents/],
    ['- just\n- a list\n', /must be a mapping/],
    [manifest.replace('kind: Pod', 'kind: Deployment'), /kind is "Deployment"/],
    [manifest.replace('  name: web\n', ''), /metadata\.name: Required value/],
    [manifest.replace('    image: docker.io/library/busybox:1.36\n', ''), /spec\.containers\[0\]\.image: Required value/],
    [manifest.replace('spec:\n', 'spec:\n  nodeName: elsewhere\n'), /spec\.nodeName is "elsewhere"/],
    ['{"apiVersion": "v1", "kind": "Pod"', /not valid YAML or JSON/],
  ];
  for (const [text, want] of cases) {
    const r = parseStaticPod('/m/bad.yaml', text, 'edge-1');
    assert.equal(r.ok, false, `refused: ${text.slice(0, 40)}`);
    assert.match(r.ok ? '' : r.error, /^static pod manifest \/m\/bad\.yaml: /, 'the error names the file');
    assert.match(r.ok ? '' : r.error, want, `the error says what is wrong: ${r.ok ? '' : r.error}`);
  }
});

test('JSON manifests parse too', () => {
  const json = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db', namespace: 'kube-system' }, spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] } });
  const r = parseStaticPod('/m/db.json', json, 'edge-1');
  assert.ok(r.ok, `JSON parses: ${r.ok ? '' : r.error}`);
  assert.equal(r.pod.metadata.namespace, 'kube-system', 'its namespace is kept');
  assert.equal(r.pod.metadata.name, 'db-edge-1', 'named NAME-NODENAME');
});
