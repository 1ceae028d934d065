// Pod spec and pod template validation, after Kubernetes' pkg/apis/core/validation.

import type { FieldError } from '../errors.js';
import {
  child,
  deepEqual,
  duplicate,
  forbidden,
  index,
  invalid,
  isObj,
  notFound,
  notSupported,
  type Obj,
  readBool,
  readEnum,
  readInt,
  readIntAtLeast,
  readList,
  readObj,
  readString,
  readStringList,
  required,
} from './field.js';
import {
  checkWith,
  isDns1123Label,
  isDns1123Subdomain,
  isEnvVarName,
  isHttpHeaderName,
  isLabelValue,
  isPortName,
  isQualifiedName,
  validateAnnotations,
  validateLabels,
} from './names.js';
import { checkContainerResourceName, isOvercommitAllowed, readQuantity, readResourceList } from './quantities.js';
import { volumeSourceFields } from './volume-sources.js';

const restartPolicies = ['Always', 'OnFailure', 'Never'] as const;

export interface PodSpecRules {
  /** The restart policies the owning kind allows; all three when unset. */
  restartPolicies?: readonly string[];
  /** Job templates: an absent restartPolicy is an error, since Jobs do not default it. */
  restartPolicyRequired?: boolean;
  /** Controllers that keep pods running forbid activeDeadlineSeconds; this is the message. */
  activeDeadlineForbidden?: string;
}

export function validatePodSpec(v: unknown, path: string, errs: FieldError[], rules: PodSpecRules = {}): void {
  const spec = readObj(v, path, errs);
  if (!spec) {
    if (v === undefined || v === null) errs.push(required(child(path, 'containers')));
    return;
  }
  const hostNetwork = readBool(spec.hostNetwork, child(path, 'hostNetwork'), errs) === true;
  const volumes = validateVolumes(spec.volumes, child(path, 'volumes'), errs);
  const containerNames = new Set<string>();

  const initPath = child(path, 'initContainers');
  readList(spec.initContainers, initPath, errs)?.forEach((c, i) =>
    validateContainer(c, index(initPath, i), errs, { init: true, volumes, names: containerNames, hostNetwork }),
  );
  const appPath = child(path, 'containers');
  const containers = readList(spec.containers, appPath, errs);
  if ((containers && containers.length === 0) || spec.containers === undefined || spec.containers === null) {
    errs.push(required(appPath));
  }
  containers?.forEach((c, i) => validateContainer(c, index(appPath, i), errs, { init: false, volumes, names: containerNames, hostNetwork }));

  const allowed = rules.restartPolicies ?? restartPolicies;
  if (spec.restartPolicy === undefined || spec.restartPolicy === null || spec.restartPolicy === '') {
    if (rules.restartPolicyRequired) {
      errs.push(required(child(path, 'restartPolicy'), `valid values: ${allowed.map((s) => JSON.stringify(s)).join(', ')}`));
    }
  } else readEnum(spec.restartPolicy, child(path, 'restartPolicy'), errs, allowed);

  readIntAtLeast(spec.terminationGracePeriodSeconds, child(path, 'terminationGracePeriodSeconds'), errs, 0);
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
    const p = child(path, 'activeDeadlineSeconds');
    if (rules.activeDeadlineForbidden) errs.push(forbidden(p, rules.activeDeadlineForbidden));
    else {
      const n = readInt(spec.activeDeadlineSeconds, p, errs);
      if (n !== undefined && (n < 1 || n > 2147483647)) errs.push(invalid(p, n, 'must be between 1 and 2147483647, inclusive'));
    }
  }
  readEnum(spec.dnsPolicy, child(path, 'dnsPolicy'), errs, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']);
  validateLabels(spec.nodeSelector, child(path, 'nodeSelector'), errs);
  for (const [field, check] of [
    ['nodeName', isDns1123Subdomain],
    ['hostname', isDns1123Label],
    ['subdomain', isDns1123Label],
    ['serviceAccountName', isDns1123Subdomain],
    ['schedulerName', isDns1123Subdomain],
  ] as const) {
    const s = readString(spec[field], child(path, field), errs);
    if (s) checkWith(check, s, child(path, field), errs);
  }
  readInt(spec.priority, child(path, 'priority'), errs);
  readBool(spec.enableServiceLinks, child(path, 'enableServiceLinks'), errs);
  readObj(spec.securityContext, child(path, 'securityContext'), errs);
  validateAffinity(spec.affinity, child(path, 'affinity'), errs);
  validateTolerations(spec.tolerations, child(path, 'tolerations'), errs);
}

/** A pod template: its labels (returned, for selector checks), annotations and pod spec. */
export function validatePodTemplate(
  v: unknown,
  path: string,
  errs: FieldError[],
  rules: PodSpecRules = {},
): Record<string, string> | undefined {
  if (v === undefined || v === null) {
    errs.push(required(path));
    return undefined;
  }
  const template = readObj(v, path, errs);
  if (!template) return undefined;
  const meta = readObj(template.metadata, child(path, 'metadata'), errs);
  const labels = meta ? validateLabels(meta.labels, child(path, 'metadata.labels'), errs) : undefined;
  if (meta) validateAnnotations(meta.annotations, child(path, 'metadata.annotations'), errs);
  validatePodSpec(template.spec, child(path, 'spec'), errs, rules);
  return labels;
}

// ---- containers ------------------------------------------------------------------------------

interface ContainerContext {
  init: boolean;
  /** Declared volume names, for volumeMounts. */
  volumes: Set<string>;
  /** Container names seen so far, across init and app containers. */
  names: Set<string>;
  hostNetwork: boolean;
}

function validateContainer(v: unknown, path: string, errs: FieldError[], ctx: ContainerContext): void {
  const c = readObj(v, path, errs);
  if (!c) {
    if (v === undefined || v === null) errs.push(required(path));
    return;
  }
  const name = readString(c.name, child(path, 'name'), errs);
  if (name === '' || c.name === undefined || c.name === null) errs.push(required(child(path, 'name')));
  else if (name !== undefined) {
    if (checkWith(isDns1123Label, name, child(path, 'name'), errs) && ctx.names.has(name)) errs.push(duplicate(child(path, 'name'), name));
    ctx.names.add(name);
  }

  const image = readString(c.image, child(path, 'image'), errs);
  if (image === '' || c.image === undefined || c.image === null) errs.push(required(child(path, 'image')));
  else if (image !== undefined && image.trim() !== image) errs.push(invalid(child(path, 'image'), image, 'must not have leading or trailing whitespace'));
  readEnum(c.imagePullPolicy, child(path, 'imagePullPolicy'), errs, ['Always', 'IfNotPresent', 'Never']);

  readStringList(c.command, child(path, 'command'), errs);
  readStringList(c.args, child(path, 'args'), errs);
  readString(c.workingDir, child(path, 'workingDir'), errs);
  readString(c.terminationMessagePath, child(path, 'terminationMessagePath'), errs);
  readEnum(c.terminationMessagePolicy, child(path, 'terminationMessagePolicy'), errs, ['File', 'FallbackToLogsOnError']);
  readBool(c.stdin, child(path, 'stdin'), errs);
  readBool(c.tty, child(path, 'tty'), errs);
  readObj(c.securityContext, child(path, 'securityContext'), errs);

  validatePorts(c.ports, child(path, 'ports'), errs, ctx.hostNetwork);
  validateEnv(c.env, child(path, 'env'), errs);
  validateResources(c.resources, child(path, 'resources'), errs);
  validateVolumeMounts(c.volumeMounts, child(path, 'volumeMounts'), errs, ctx.volumes);

  // A sidecar is an init container with restartPolicy Always; only sidecars may have probes.
  let sidecar = false;
  if (c.restartPolicy !== undefined && c.restartPolicy !== null) {
    if (ctx.init) sidecar = readEnum(c.restartPolicy, child(path, 'restartPolicy'), errs, ['Always']) === 'Always';
    else errs.push(forbidden(child(path, 'restartPolicy'), 'may not be set for non-init containers'));
  }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    if (c[probe] === undefined || c[probe] === null) continue;
    if (ctx.init && !sidecar) errs.push(forbidden(child(path, probe), 'may not be set for init containers without restartPolicy=Always'));
    else validateProbe(c[probe], child(path, probe), errs, probe);
  }
}

function validatePorts(v: unknown, path: string, errs: FieldError[], hostNetwork: boolean): void {
  const names = new Set<string>();
  readList(v, path, errs)?.forEach((item, i) => {
    const p = index(path, i);
    const port = readObj(item, p, errs);
    if (!port) return;
    const name = readString(port.name, child(p, 'name'), errs);
    if (name) {
      if (checkWith(isPortName, name, child(p, 'name'), errs) && names.has(name)) errs.push(duplicate(child(p, 'name'), name));
      names.add(name);
    }
    let containerPort: number | undefined;
    if (port.containerPort === 0 || port.containerPort === undefined || port.containerPort === null) errs.push(required(child(p, 'containerPort')));
    else containerPort = readPortNumber(port.containerPort, child(p, 'containerPort'), errs);
    if (port.hostPort !== undefined && port.hostPort !== null && port.hostPort !== 0) {
      const hostPort = readPortNumber(port.hostPort, child(p, 'hostPort'), errs);
      if (hostNetwork && hostPort !== undefined && containerPort !== undefined && hostPort !== containerPort) {
        errs.push(invalid(child(p, 'hostPort'), hostPort, 'must match `containerPort` when `hostNetwork` is true'));
      }
    }
    readEnum(port.protocol, child(p, 'protocol'), errs, ['SCTP', 'TCP', 'UDP']);
    readString(port.hostIP, child(p, 'hostIP'), errs);
  });
}

function readPortNumber(v: unknown, path: string, errs: FieldError[]): number | undefined {
  const n = readInt(v, path, errs);
  if (n === undefined) return undefined;
  if (n < 1 || n > 65535) {
    errs.push(invalid(path, n, 'must be between 1 and 65535, inclusive'));
    return undefined;
  }
  return n;
}

/** A port given as a number (1–65535) or as the name of a container port. */
function validatePortNumOrName(v: unknown, path: string, errs: FieldError[]): void {
  if (v === undefined || v === null || v === '' || v === 0) errs.push(required(path));
  else if (typeof v === 'number') readPortNumber(v, path, errs);
  else if (typeof v === 'string') checkWith(isPortName, v, path, errs);
  else errs.push(invalid(path, v, 'must be a port number or a port name'));
}

const envSources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const;

function validateEnv(v: unknown, path: string, errs: FieldError[]): void {
  readList(v, path, errs)?.forEach((item, i) => {
    const p = index(path, i);
    const env = readObj(item, p, errs);
    if (!env) return;
    const name = readString(env.name, child(p, 'name'), errs);
    if (name === '' || env.name === undefined || env.name === null) errs.push(required(child(p, 'name')));
    else if (name !== undefined) checkWith(isEnvVarName, name, child(p, 'name'), errs);
    const value = readString(env.value, child(p, 'value'), errs);
    const vfPath = child(p, 'valueFrom');
    const from = readObj(env.valueFrom, vfPath, errs);
    if (!from) return;
    const given = envSources.filter((s) => from[s] !== undefined && from[s] !== null);
    if (given.length === 0) {
      errs.push(invalid(vfPath, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    } else if (given.length > 1) {
      errs.push(invalid(vfPath, '', 'may not have more than one field specified at a time'));
    }
    if (value) errs.push(invalid(vfPath, '', 'may not be specified when `value` is not empty'));
    const requireStrings = (src: string, fields: string[]) => {
      const o = readObj(from[src], child(vfPath, src), errs);
      if (!o) return;
      for (const f of fields) {
        const s = readString(o[f], child(child(vfPath, src), f), errs);
        if (s === '' || o[f] === undefined || o[f] === null) errs.push(required(child(child(vfPath, src), f)));
      }
    };
    requireStrings('fieldRef', ['fieldPath']);
    requireStrings('resourceFieldRef', ['resource']);
    requireStrings('configMapKeyRef', ['name', 'key']);
    requireStrings('secretKeyRef', ['name', 'key']);
  });
}

function validateResources(v: unknown, path: string, errs: FieldError[]): void {
  const r = readObj(v, path, errs);
  if (!r) return;
  const limPath = child(path, 'limits');
  const reqPath = child(path, 'requests');
  const limits = readResourceList(r.limits, limPath, errs, checkContainerResourceName);
  const requests = readResourceList(r.requests, reqPath, errs, checkContainerResourceName);
  for (const [name, req] of requests) {
    const lim = limits.get(name);
    if (lim) {
      if (!isOvercommitAllowed(name) && req.value !== lim.value) {
        errs.push(invalid(reqPath, req.text, `must be equal to ${name} limit of ${lim.text}`));
      } else if (req.value > lim.value) {
        errs.push(invalid(reqPath, req.text, `must be less than or equal to ${name} limit of ${lim.text}`));
      }
    } else if (!isOvercommitAllowed(name)) {
      errs.push(required(`${limPath}[${name}]`, 'Limit must be set for non overcommitable resources'));
    }
  }
}

function validateVolumeMounts(v: unknown, path: string, errs: FieldError[], volumes: Set<string>): void {
  const mountPaths = new Set<string>();
  readList(v, path, errs)?.forEach((item, i) => {
    const p = index(path, i);
    const m = readObj(item, p, errs);
    if (!m) return;
    const name = readString(m.name, child(p, 'name'), errs);
    if (name === '' || m.name === undefined || m.name === null) errs.push(required(child(p, 'name')));
    else if (name !== undefined && !volumes.has(name)) errs.push(notFound(child(p, 'name'), name));
    const mountPath = readString(m.mountPath, child(p, 'mountPath'), errs);
    if (mountPath === '' || m.mountPath === undefined || m.mountPath === null) errs.push(required(child(p, 'mountPath')));
    else if (mountPath !== undefined) {
      if (mountPaths.has(mountPath)) errs.push(invalid(child(p, 'mountPath'), mountPath, 'must be unique'));
      mountPaths.add(mountPath);
    }
    const subPath = readString(m.subPath, child(p, 'subPath'), errs);
    if (subPath) {
      if (subPath.startsWith('/')) errs.push(invalid(child(p, 'subPath'), subPath, 'must be a relative path'));
      if (subPath.split('/').includes('..')) errs.push(invalid(child(p, 'subPath'), subPath, "must not contain '..'"));
    }
    readBool(m.readOnly, child(p, 'readOnly'), errs);
  });
}

// ---- probes ----------------------------------------------------------------------------------

const probeHandlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

function validateProbe(v: unknown, path: string, errs: FieldError[], kind: 'livenessProbe' | 'readinessProbe' | 'startupProbe'): void {
  const probe = readObj(v, path, errs);
  if (!probe) return;
  let handlers = 0;
  for (const h of probeHandlers) {
    if (probe[h] === undefined || probe[h] === null) continue;
    if (handlers > 0) errs.push(forbidden(child(path, h), 'may not specify more than 1 handler type'));
    else validateHandler(h, probe[h], child(path, h), errs);
    handlers++;
  }
  if (handlers === 0) errs.push(required(path, 'must specify a handler type'));

  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    readIntAtLeast(probe[f], child(path, f), errs, 0);
  }
  if (kind !== 'readinessProbe' && typeof probe.successThreshold === 'number' && probe.successThreshold > 0 && probe.successThreshold !== 1) {
    errs.push(invalid(child(path, 'successThreshold'), probe.successThreshold, 'must be 1'));
  }
  if (probe.terminationGracePeriodSeconds !== undefined && probe.terminationGracePeriodSeconds !== null) {
    const p = child(path, 'terminationGracePeriodSeconds');
    if (kind === 'readinessProbe') errs.push(invalid(p, probe.terminationGracePeriodSeconds, 'must not be set for readinessProbes'));
    else readIntAtLeast(probe.terminationGracePeriodSeconds, p, errs, 1, 'must be greater than 0');
  }
}

function validateHandler(kind: (typeof probeHandlers)[number], v: unknown, path: string, errs: FieldError[]): void {
  const h = readObj(v, path, errs);
  if (!h) return;
  switch (kind) {
    case 'exec': {
      const command = readStringList(h.command, child(path, 'command'), errs);
      if ((command && command.length === 0) || h.command === undefined || h.command === null) errs.push(required(child(path, 'command')));
      break;
    }
    case 'httpGet': {
      const p = readString(h.path, child(path, 'path'), errs);
      if (p === '' || h.path === undefined || h.path === null) errs.push(required(child(path, 'path')));
      validatePortNumOrName(h.port, child(path, 'port'), errs);
      readEnum(h.scheme, child(path, 'scheme'), errs, ['HTTP', 'HTTPS']);
      readString(h.host, child(path, 'host'), errs);
      const headersPath = child(path, 'httpHeaders');
      readList(h.httpHeaders, headersPath, errs)?.forEach((item, i) => {
        const hp = index(headersPath, i);
        const header = readObj(item, hp, errs);
        if (!header) return;
        const name = readString(header.name, child(hp, 'name'), errs);
        if (name !== undefined) checkWith(isHttpHeaderName, name, child(hp, 'name'), errs);
        readString(header.value, child(hp, 'value'), errs);
      });
      break;
    }
    case 'tcpSocket':
      validatePortNumOrName(h.port, child(path, 'port'), errs);
      readString(h.host, child(path, 'host'), errs);
      break;
    case 'grpc':
      if (h.port === undefined || h.port === null) errs.push(required(child(path, 'port')));
      else readPortNumber(h.port, child(path, 'port'), errs);
      readString(h.service, child(path, 'service'), errs);
      break;
  }
}

// ---- volumes ---------------------------------------------------------------------------------

const hostPathTypes = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'];

function validateVolumes(v: unknown, path: string, errs: FieldError[]): Set<string> {
  const names = new Set<string>();
  readList(v, path, errs)?.forEach((item, i) => {
    const p = index(path, i);
    const vol = readObj(item, p, errs);
    if (!vol) return;
    const name = readString(vol.name, child(p, 'name'), errs);
    if (name === '' || vol.name === undefined || vol.name === null) errs.push(required(child(p, 'name')));
    else if (name !== undefined) {
      if (checkWith(isDns1123Label, name, child(p, 'name'), errs) && names.has(name)) errs.push(duplicate(child(p, 'name'), name));
      names.add(name);
    }
    const sources = volumeSourceFields.filter((s) => vol[s] !== undefined && vol[s] !== null);
    if (sources.length === 0) errs.push(required(p, 'must specify a volume type'));
    for (const s of sources.slice(1)) errs.push(forbidden(child(p, s), 'may not specify more than 1 volume type'));
    validateVolumeSource(vol, p, errs);
  });
  return names;
}

function validateVolumeSource(vol: Obj, path: string, errs: FieldError[]): void {
  const requireString = (o: Obj, field: string, p: string) => {
    const s = readString(o[field], child(p, field), errs);
    if (s === '' || o[field] === undefined || o[field] === null) errs.push(required(child(p, field)));
  };
  const hostPath = readObj(vol.hostPath, child(path, 'hostPath'), errs);
  if (hostPath) {
    requireString(hostPath, 'path', child(path, 'hostPath'));
    readEnum(hostPath.type, child(path, 'hostPath.type'), errs, hostPathTypes);
  }
  const emptyDir = readObj(vol.emptyDir, child(path, 'emptyDir'), errs);
  if (emptyDir) {
    readEnum(emptyDir.medium, child(path, 'emptyDir.medium'), errs, ['', 'Memory', 'HugePages']);
    if (emptyDir.sizeLimit !== undefined && emptyDir.sizeLimit !== null) readQuantity(emptyDir.sizeLimit, child(path, 'emptyDir.sizeLimit'), errs);
  }
  const configMap = readObj(vol.configMap, child(path, 'configMap'), errs);
  if (configMap) {
    requireString(configMap, 'name', child(path, 'configMap'));
    validateKeyToPaths(configMap, child(path, 'configMap'), errs);
  }
  const secret = readObj(vol.secret, child(path, 'secret'), errs);
  if (secret) {
    requireString(secret, 'secretName', child(path, 'secret'));
    validateKeyToPaths(secret, child(path, 'secret'), errs);
  }
  const pvc = readObj(vol.persistentVolumeClaim, child(path, 'persistentVolumeClaim'), errs);
  if (pvc) requireString(pvc, 'claimName', child(path, 'persistentVolumeClaim'));
}

function validateKeyToPaths(src: Obj, path: string, errs: FieldError[]): void {
  const mode = readInt(src.defaultMode, child(path, 'defaultMode'), errs);
  if (mode !== undefined && (mode < 0 || mode > 0o777)) {
    errs.push(invalid(child(path, 'defaultMode'), mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
  }
  const itemsPath = child(path, 'items');
  readList(src.items, itemsPath, errs)?.forEach((item, i) => {
    const p = index(itemsPath, i);
    const kp = readObj(item, p, errs);
    if (!kp) return;
    for (const f of ['key', 'path']) {
      const s = readString(kp[f], child(p, f), errs);
      if (s === '' || kp[f] === undefined || kp[f] === null) errs.push(required(child(p, f)));
    }
    const rel = typeof kp.path === 'string' ? kp.path : '';
    if (rel.startsWith('/')) errs.push(invalid(child(p, 'path'), rel, 'must be a relative path'));
    if (rel.split('/').includes('..')) errs.push(invalid(child(p, 'path'), rel, "must not contain '..'"));
  });
}

// ---- scheduling constraints ------------------------------------------------------------------

const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function validateTolerations(v: unknown, path: string, errs: FieldError[]): void {
  readList(v, path, errs)?.forEach((item, i) => {
    const p = index(path, i);
    const t = readObj(item, p, errs);
    if (!t) return;
    const k = readString(t.key, child(p, 'key'), errs) ?? '';
    if (k !== '') checkWith(isQualifiedName, k, child(p, 'key'), errs);
    const operator = readString(t.operator, child(p, 'operator'), errs) ?? '';
    const value = readString(t.value, child(p, 'value'), errs) ?? '';
    if (k === '' && operator !== 'Exists') {
      errs.push(invalid(child(p, 'operator'), operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (operator === '' || operator === 'Equal') checkWith(isLabelValue, value, child(p, 'value'), errs);
    else if (operator === 'Exists') {
      if (value !== '') errs.push(invalid(child(p, 'operator'), value, "value must be empty when `operator` is 'Exists'"));
    } else errs.push(notSupported(child(p, 'operator'), operator, ['Equal', 'Exists']));
    const effect = readString(t.effect, child(p, 'effect'), errs) ?? '';
    if (effect !== '') readEnum(effect, child(p, 'effect'), errs, taintEffects);
    const seconds = readInt(t.tolerationSeconds, child(p, 'tolerationSeconds'), errs);
    if (seconds !== undefined && effect !== 'NoExecute') {
      errs.push(invalid(child(p, 'effect'), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
  });
}

function validateAffinity(v: unknown, path: string, errs: FieldError[]): void {
  const affinity = readObj(v, path, errs);
  if (!affinity) return;
  const naPath = child(path, 'nodeAffinity');
  const na = readObj(affinity.nodeAffinity, naPath, errs);
  if (!na) return;
  const reqPath = child(naPath, 'requiredDuringSchedulingIgnoredDuringExecution');
  const req = readObj(na.requiredDuringSchedulingIgnoredDuringExecution, reqPath, errs);
  if (req) {
    const termsPath = child(reqPath, 'nodeSelectorTerms');
    const terms = readList(req.nodeSelectorTerms, termsPath, errs);
    if (terms?.length === 0 || req.nodeSelectorTerms === undefined || req.nodeSelectorTerms === null) {
      errs.push(required(termsPath, 'must have at least one node selector term'));
    }
    terms?.forEach((term, i) => validateNodeSelectorTerm(term, index(termsPath, i), errs));
  }
  const prefPath = child(naPath, 'preferredDuringSchedulingIgnoredDuringExecution');
  readList(na.preferredDuringSchedulingIgnoredDuringExecution, prefPath, errs)?.forEach((item, i) => {
    const p = index(prefPath, i);
    const pref = readObj(item, p, errs);
    if (!pref) return;
    const weight = readInt(pref.weight, child(p, 'weight'), errs);
    if (weight !== undefined && (weight < 1 || weight > 100)) errs.push(invalid(child(p, 'weight'), weight, 'must be in the range 1-100'));
    if (pref.preference === undefined || pref.preference === null) errs.push(required(child(p, 'preference')));
    else validateNodeSelectorTerm(pref.preference, child(p, 'preference'), errs);
  });
}

function validateNodeSelectorTerm(v: unknown, path: string, errs: FieldError[]): void {
  const term = readObj(v, path, errs);
  if (!term) return;
  const exprPath = child(path, 'matchExpressions');
  readList(term.matchExpressions, exprPath, errs)?.forEach((item, i) => validateNodeSelectorRequirement(item, index(exprPath, i), errs, false));
  const fieldsPath = child(path, 'matchFields');
  readList(term.matchFields, fieldsPath, errs)?.forEach((item, i) => validateNodeSelectorRequirement(item, index(fieldsPath, i), errs, true));
}

function validateNodeSelectorRequirement(v: unknown, path: string, errs: FieldError[], field: boolean): void {
  const r = readObj(v, path, errs);
  if (!r) return;
  const k = readString(r.key, child(path, 'key'), errs);
  if (k === undefined && (r.key === undefined || r.key === null)) errs.push(required(child(path, 'key')));
  else if (k !== undefined) {
    if (field) {
      if (k !== 'metadata.name') errs.push(invalid(child(path, 'key'), k, 'not a valid field selector key; the only one is metadata.name'));
    } else checkWith(isQualifiedName, k, child(path, 'key'), errs);
  }
  const valuesPath = child(path, 'values');
  const values = readStringList(r.values, valuesPath, errs) ?? [];
  const op = readString(r.operator, child(path, 'operator'), errs);
  if (field) {
    if (op === 'In' || op === 'NotIn') {
      if (values.length !== 1) errs.push(required(valuesPath, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    } else if (op !== undefined) errs.push(invalid(child(path, 'operator'), op, 'not a valid selector operator'));
    return;
  }
  switch (op) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(required(valuesPath, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(forbidden(valuesPath, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) errs.push(required(valuesPath, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      else if (!/^-?[0-9]+$/.test(values[0])) errs.push(invalid(index(valuesPath, 0), values[0], "must be an integer when `operator` is 'Lt' or 'Gt'"));
      break;
    case undefined:
      if (r.operator === undefined || r.operator === null) errs.push(required(child(path, 'operator')));
      break;
    default:
      errs.push(invalid(child(path, 'operator'), op, 'not a valid selector operator'));
  }
  if (op !== 'Gt' && op !== 'Lt') values.forEach((val, i) => checkWith(isLabelValue, val, index(valuesPath, i), errs));
}

// ---- updates ---------------------------------------------------------------------------------

const podUpdateMessage =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
  '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),' +
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * A running pod's spec is fixed except for container images, a shorter activeDeadlineSeconds,
 * added tolerations, and terminationGracePeriodSeconds from negative to 1 (Kubernetes' ValidatePodUpdate).
 */
export function validatePodSpecUpdate(newSpec: unknown, oldSpec: unknown, path: string, errs: FieldError[]): void {
  if (!isObj(newSpec) || !isObj(oldSpec)) return;
  const munged: Obj = structuredClone(newSpec);

  for (const field of ['containers', 'initContainers']) {
    const nw = munged[field];
    const old = oldSpec[field];
    if (Array.isArray(nw) && Array.isArray(old) && nw.length === old.length) {
      nw.forEach((c, i) => {
        if (isObj(c) && isObj(old[i])) c.image = old[i].image;
      });
    }
  }

  const adPath = child(path, 'activeDeadlineSeconds');
  const oldDeadline = oldSpec.activeDeadlineSeconds;
  const newDeadline = newSpec.activeDeadlineSeconds;
  if (typeof oldDeadline === 'number' && oldDeadline > 0) {
    if (newDeadline === undefined || newDeadline === null) {
      errs.push(invalid(adPath, null, 'must not update from a positive integer to nil value'));
    } else if (typeof newDeadline === 'number' && newDeadline > oldDeadline) {
      errs.push(invalid(adPath, newDeadline, 'must be less than or equal to previous value'));
    }
  }
  munged.activeDeadlineSeconds = oldDeadline;

  const oldTolerations = Array.isArray(oldSpec.tolerations) ? oldSpec.tolerations : [];
  const newTolerations = Array.isArray(newSpec.tolerations) ? newSpec.tolerations : [];
  for (const old of oldTolerations) {
    if (!newTolerations.some((t) => sameTolerationExceptSeconds(t, old))) {
      errs.push(forbidden(child(path, 'tolerations'), 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  munged.tolerations = oldSpec.tolerations;

  const oldGrace = oldSpec.terminationGracePeriodSeconds;
  if (typeof oldGrace === 'number' && oldGrace < 0 && newSpec.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldGrace;
  }

  if (!deepEqual(munged, oldSpec)) {
    const changed = changedPaths(munged, oldSpec, path).slice(0, 5);
    errs.push(forbidden(path, `${podUpdateMessage}; changed: ${changed.join(', ')}`));
  }
}

function sameTolerationExceptSeconds(a: unknown, b: unknown): boolean {
  if (!isObj(a) || !isObj(b)) return false;
  return ['key', 'operator', 'value', 'effect'].every((f) => (a[f] ?? '') === (b[f] ?? ''));
}

/** The deepest paths at which two values differ, so the user sees what to undo. */
function changedPaths(a: unknown, b: unknown, path: string): string[] {
  if (deepEqual(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => changedPaths(x, b[i], index(path, i)));
  }
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => changedPaths(a[k], b[k], child(path, k)));
  }
  return [path];
}
