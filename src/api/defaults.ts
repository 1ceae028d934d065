// The defaults Kubernetes fills in when an object is created (pkg/apis/*/v1/defaults.go), per
// kind. Works on untrusted input: a field of the wrong type is left alone for validation to
// report, and nothing here throws.

import { isQuantity } from './quantity.js';
import type { KObject } from './types.js';
import { isObj, type Obj } from './validation/field.js';
import { isDns1123Label } from './validation/names.js';
import { volumeSourceFields } from './validation/volume-sources.js';

/** Fills in, in place, the fields Kubernetes defaults for the object's kind. */
export function applyDefaults(obj: KObject): void {
  if (!isObj(obj)) return;
  const spec = isObj(obj.spec) ? obj.spec : undefined;
  switch (obj.kind) {
    case 'Pod':
      if (spec) defaultPodSpec(spec, { isPod: true });
      break;
    case 'ReplicaSet':
      if (spec) {
        setIfAbsent(spec, 'replicas', 1);
        defaultTemplate(spec.template);
      }
      break;
    case 'ReplicationController':
      if (spec) defaultReplicationController(obj, spec);
      break;
    case 'Deployment':
      if (spec) defaultDeployment(spec);
      break;
    case 'DaemonSet':
      if (spec) defaultDaemonSet(spec);
      break;
    case 'Job':
      if (spec) defaultJob(obj, spec);
      break;
    case 'CronJob':
      if (spec) defaultCronJob(spec);
      break;
    case 'Namespace':
      defaultNamespace(obj);
      break;
    case 'Node':
      defaultNode(obj);
      break;
    case 'LimitRange':
      if (spec && Array.isArray(spec.limits)) spec.limits.filter(isObj).forEach(defaultLimitRangeItem);
      break;
  }
}

function setIfAbsent(o: Obj, field: string, value: unknown): void {
  if (o[field] === undefined || o[field] === null) o[field] = value;
}

/** An object field, created empty when absent; undefined when it holds something else. */
function objField(o: Obj, field: string): Obj | undefined {
  if (o[field] === undefined || o[field] === null) o[field] = {};
  return isObj(o[field]) ? o[field] : undefined;
}

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

// ---- pods ------------------------------------------------------------------------------------

interface PodSpecOptions {
  /** Job templates keep restartPolicy as given, so validation can ask for OnFailure or Never. */
  keepRestartPolicy?: boolean;
  /**
   * Some defaults materialise only in Pods, never in templates (Kubernetes' SetDefaults_Pod):
   * requests from limits, enableServiceLinks, and host ports under hostNetwork.
   */
  isPod?: boolean;
}

function defaultTemplate(template: unknown, opts: PodSpecOptions = {}): void {
  if (isObj(template) && isObj(template.spec)) defaultPodSpec(template.spec, opts);
}

function defaultPodSpec(spec: Obj, opts: PodSpecOptions): void {
  if (!opts.keepRestartPolicy) setIfAbsent(spec, 'restartPolicy', 'Always');
  setIfAbsent(spec, 'terminationGracePeriodSeconds', 30);
  setIfAbsent(spec, 'dnsPolicy', 'ClusterFirst');
  setIfAbsent(spec, 'schedulerName', 'default-scheduler');
  setIfAbsent(spec, 'securityContext', {});
  if (opts.isPod) setIfAbsent(spec, 'enableServiceLinks', true);
  const hostNetwork = opts.isPod === true && spec.hostNetwork === true;
  for (const c of [...objects(spec.initContainers), ...objects(spec.containers)]) {
    defaultContainer(c, hostNetwork);
    if (opts.isPod) defaultRequestsFromLimits(c);
  }
  for (const v of objects(spec.volumes)) defaultVolume(v);
}

function defaultContainer(c: Obj, hostNetwork: boolean): void {
  if (c.imagePullPolicy === undefined || c.imagePullPolicy === null) {
    if (typeof c.image === 'string') c.imagePullPolicy = pullPolicyFor(c.image);
  }
  setIfAbsent(c, 'terminationMessagePath', '/dev/termination-log');
  setIfAbsent(c, 'terminationMessagePolicy', 'File');
  for (const p of objects(c.ports)) {
    setIfAbsent(p, 'protocol', 'TCP');
    // With the host's network the container's port is the host's port.
    if (hostNetwork && (p.hostPort === undefined || p.hostPort === null || p.hostPort === 0)) p.hostPort = p.containerPort;
  }
  for (const e of objects(c.env)) {
    if (isObj(e.valueFrom) && isObj(e.valueFrom.fieldRef)) setIfAbsent(e.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    if (isObj(c[probe])) defaultProbe(c[probe]);
  }
}

/** `Always` for `:latest` or no tag (unless pinned by digest), else `IfNotPresent`. */
function pullPolicyFor(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon < 0 ? '' : lastSegment.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

// Kubernetes defaults these only when zero or unset, since they are plain int32 fields.
function defaultProbe(p: Obj): void {
  const zeroOrAbsent = (f: string) => p[f] === undefined || p[f] === null || p[f] === 0;
  if (zeroOrAbsent('timeoutSeconds')) p.timeoutSeconds = 1;
  if (zeroOrAbsent('periodSeconds')) p.periodSeconds = 10;
  if (zeroOrAbsent('successThreshold')) p.successThreshold = 1;
  if (zeroOrAbsent('failureThreshold')) p.failureThreshold = 3;
  if (isObj(p.httpGet)) {
    if (p.httpGet.path === undefined || p.httpGet.path === null || p.httpGet.path === '') p.httpGet.path = '/';
    setIfAbsent(p.httpGet, 'scheme', 'HTTP');
  }
}

/** A limit without a request means the request equals the limit. */
function defaultRequestsFromLimits(c: Obj): void {
  if (!isObj(c.resources) || !isObj(c.resources.limits)) return;
  const limits = c.resources.limits;
  if (Object.keys(limits).length === 0) return;
  const requests = objField(c.resources, 'requests');
  if (!requests) return;
  // A malformed limit is left for validation to report once, at the limit.
  for (const [name, value] of Object.entries(limits)) if (isQuantity(value)) setIfAbsent(requests, name, value);
}

function defaultVolume(v: Obj): void {
  // A volume that names no source is an emptyDir.
  if (volumeSourceFields.every((s) => v[s] === undefined || v[s] === null)) v.emptyDir = {};
  if (isObj(v.hostPath)) setIfAbsent(v.hostPath, 'type', '');
  if (isObj(v.configMap)) setIfAbsent(v.configMap, 'defaultMode', 0o644);
  if (isObj(v.secret)) setIfAbsent(v.secret, 'defaultMode', 0o644);
}

// ---- workloads -------------------------------------------------------------------------------

function defaultReplicationController(obj: KObject, spec: Obj): void {
  const template = isObj(spec.template) ? spec.template : undefined;
  const meta = template && isObj(template.metadata) ? template.metadata : undefined;
  const labels = meta && isObj(meta.labels) ? meta.labels : undefined;
  if (labels) {
    if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    if (isObj(obj.metadata) && (!isObj(obj.metadata.labels) || Object.keys(obj.metadata.labels).length === 0)) {
      obj.metadata.labels = { ...(labels as Record<string, string>) };
    }
  }
  setIfAbsent(spec, 'replicas', 1);
  defaultTemplate(template);
}

function defaultDeployment(spec: Obj): void {
  setIfAbsent(spec, 'replicas', 1);
  const strategy = objField(spec, 'strategy');
  if (strategy) {
    setIfAbsent(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = objField(strategy, 'rollingUpdate');
      if (ru) {
        setIfAbsent(ru, 'maxUnavailable', '25%');
        setIfAbsent(ru, 'maxSurge', '25%');
      }
    }
  }
  setIfAbsent(spec, 'revisionHistoryLimit', 10);
  setIfAbsent(spec, 'progressDeadlineSeconds', 600);
  defaultTemplate(spec.template);
}

function defaultDaemonSet(spec: Obj): void {
  const strategy = objField(spec, 'updateStrategy');
  if (strategy) {
    setIfAbsent(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = objField(strategy, 'rollingUpdate');
      if (ru) {
        setIfAbsent(ru, 'maxUnavailable', 1);
        setIfAbsent(ru, 'maxSurge', 0);
      }
    }
  }
  setIfAbsent(spec, 'revisionHistoryLimit', 10);
  defaultTemplate(spec.template);
}

function defaultJobSpec(spec: Obj): void {
  // A job that sets neither runs one pod to one completion; one that sets only parallelism is a
  // work queue and keeps completions unset.
  if ((spec.completions === undefined || spec.completions === null) && (spec.parallelism === undefined || spec.parallelism === null)) {
    spec.completions = 1;
  }
  setIfAbsent(spec, 'parallelism', 1);
  setIfAbsent(spec, 'backoffLimit', 6);
  setIfAbsent(spec, 'completionMode', 'NonIndexed');
  setIfAbsent(spec, 'suspend', false);
}

function defaultJob(obj: KObject, spec: Obj): void {
  defaultJobSpec(spec);
  const template = isObj(spec.template) ? spec.template : undefined;
  const labels = template && isObj(template.metadata) && isObj(template.metadata.labels) ? template.metadata.labels : undefined;
  if (labels && isObj(obj.metadata) && (!isObj(obj.metadata.labels) || Object.keys(obj.metadata.labels).length === 0)) {
    obj.metadata.labels = { ...(labels as Record<string, string>) };
  }
  defaultTemplate(template, { keepRestartPolicy: true });
}

function defaultCronJob(spec: Obj): void {
  setIfAbsent(spec, 'concurrencyPolicy', 'Allow');
  setIfAbsent(spec, 'suspend', false);
  setIfAbsent(spec, 'successfulJobsHistoryLimit', 3);
  setIfAbsent(spec, 'failedJobsHistoryLimit', 1);
  // The job template's pod spec gets pod defaults; the Job's own defaults come when a Job is made.
  if (isObj(spec.jobTemplate) && isObj(spec.jobTemplate.spec)) {
    defaultTemplate(spec.jobTemplate.spec.template, { keepRestartPolicy: true });
  }
}

// ---- cluster objects -------------------------------------------------------------------------

function defaultNamespace(obj: KObject): void {
  const status = objField(obj, 'status');
  if (status) setIfAbsent(status, 'phase', 'Active');
  // Every namespace carries its own name as a label, so selectors can pick namespaces by name.
  // A name that is not a valid label is left for validation to report once, at the name.
  if (isObj(obj.metadata) && typeof obj.metadata.name === 'string' && isDns1123Label(obj.metadata.name).length === 0) {
    const labels = objField(obj.metadata as Obj, 'labels');
    if (labels) labels['kubernetes.io/metadata.name'] = obj.metadata.name;
  }
}

function defaultNode(obj: KObject): void {
  if (!isObj(obj.status)) return;
  if (isObj(obj.status.capacity) && (obj.status.allocatable === undefined || obj.status.allocatable === null)) {
    obj.status.allocatable = { ...obj.status.capacity };
  }
}

function defaultLimitRangeItem(item: Obj): void {
  if (item.type !== 'Container') return;
  const fill = (target: string, from: unknown) => {
    if (!isObj(from) || Object.keys(from).length === 0) return;
    const t = objField(item, target);
    if (t) for (const [k, v] of Object.entries(from)) if (isQuantity(v)) setIfAbsent(t, k, v);
  };
  // Default limit from max; default request from the default limit, else from min.
  fill('default', item.max);
  fill('defaultRequest', item.default);
  fill('defaultRequest', item.min);
}
