import type { Container, ContainerState, ContainerStatus, Pod, PodTemplateSpec, Probe, Toleration, Volume } from '../../api/types.js';
import { age } from '../printers/age.js';
import type { DescribeWriter } from '../printers/describe-writer.js';
import { rfc1123z, writeAnnotations, writeControlledBy, writeLabels } from './common.js';

// `describe pod` and the Pod Template part of workload describers, in kubectl's layout.

function portText(c: Container): { ports: string; hostPorts: string } {
  const ports = c.ports ?? [];
  if (ports.length === 0) return { ports: '<none>', hostPorts: '<none>' };
  return {
    ports: ports.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', '),
    hostPorts: ports.map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`).join(', '),
  };
}

/** `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`. */
export function probeText(p: Probe): string {
  let action = 'unknown';
  if (p.exec) action = `exec [${(p.exec.command ?? []).join(' ')}]`;
  else if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? 'HTTP').toLowerCase();
    action = `http-get ${scheme}://${p.httpGet.host ?? ''}:${p.httpGet.port}${p.httpGet.path ?? '/'}`;
  } else if (p.tcpSocket) action = `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port}`;
  else if (p.grpc) action = `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''}`.trimEnd();
  return (
    `${action} delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s ` +
    `#success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`
  );
}

function writeState(w: DescribeWriter, level: number, title: string, state: ContainerState | undefined): void {
  if (state?.running) {
    w.field(level, title, 'Running');
    w.field(level + 1, 'Started', rfc1123z(state.running.startedAt));
  } else if (state?.waiting) {
    w.field(level, title, 'Waiting');
    if (state.waiting.reason) w.field(level + 1, 'Reason', state.waiting.reason);
    if (state.waiting.message) w.field(level + 1, 'Message', state.waiting.message);
  } else if (state?.terminated) {
    const t = state.terminated;
    w.field(level, title, 'Terminated');
    if (t.reason) w.field(level + 1, 'Reason', t.reason);
    if (t.message) w.field(level + 1, 'Message', t.message);
    w.field(level + 1, 'Exit Code', t.exitCode);
    if (t.signal) w.field(level + 1, 'Signal', t.signal);
    w.field(level + 1, 'Started', rfc1123z(t.startedAt));
    w.field(level + 1, 'Finished', rfc1123z(t.finishedAt));
  } else {
    w.field(level, title, 'Waiting');
  }
}

function writeResources(w: DescribeWriter, level: number, title: string, list: Record<string, string | number> | undefined): void {
  const keys = Object.keys(list ?? {}).sort();
  if (keys.length === 0) return;
  w.line(level, `${title}:`);
  for (const k of keys) w.field(level + 1, k, String(list![k]));
}

function writeList(w: DescribeWriter, level: number, title: string, items: string[] | undefined): void {
  if (!items?.length) return;
  w.line(level, `${title}:`);
  for (const i of items) w.line(level + 1, i);
}

/** `nameLevel` holds the container's name line; `l` its fields (templates indent names by one more space, as kubectl does). */
function writeContainer(w: DescribeWriter, nameLevel: number, l: number, c: Container, status: ContainerStatus | undefined, templated: boolean): void {
  w.line(nameLevel, `${templated ? ' ' : ''}${c.name}:`);
  if (status) w.field(l, 'Container ID', status.containerID ?? '');
  w.field(l, 'Image', c.image ?? '');
  if (status) w.field(l, 'Image ID', status.imageID ?? '');
  const { ports, hostPorts } = portText(c);
  w.field(l, (c.ports?.length ?? 0) > 1 ? 'Ports' : 'Port', ports);
  w.field(l, (c.ports?.length ?? 0) > 1 ? 'Host Ports' : 'Host Port', hostPorts);
  writeList(w, l, 'Command', c.command);
  writeList(w, l, 'Args', c.args);
  if (status) {
    writeState(w, l, 'State', status.state);
    if (status.lastState && Object.keys(status.lastState).length) writeState(w, l, 'Last State', status.lastState);
    w.field(l, 'Ready', status.ready ? 'True' : 'False');
    w.field(l, 'Restart Count', status.restartCount ?? 0);
  }
  writeResources(w, l, 'Limits', c.resources?.limits);
  writeResources(w, l, 'Requests', c.resources?.requests);
  if (c.livenessProbe) w.field(l, 'Liveness', probeText(c.livenessProbe));
  if (c.readinessProbe) w.field(l, 'Readiness', probeText(c.readinessProbe));
  if (c.startupProbe) w.field(l, 'Startup', probeText(c.startupProbe));
  if (!c.env?.length) w.field(l, 'Environment', '<none>');
  else {
    w.line(l, 'Environment:');
    for (const e of c.env) {
      let value = e.value ?? '';
      const from = e.valueFrom;
      if (from?.fieldRef) value = `(${from.fieldRef.apiVersion ?? 'v1'}:${from.fieldRef.fieldPath})`;
      else if (from?.secretKeyRef) value = `<set to the key '${from.secretKeyRef.key}' in secret '${from.secretKeyRef.name}'>`;
      else if (from?.configMapKeyRef) value = `<set to the key '${from.configMapKeyRef.key}' of config map '${from.configMapKeyRef.name}'>`;
      else if (from?.resourceFieldRef) value = `${from.resourceFieldRef.resource}`;
      w.field(l + 1, e.name, value);
    }
  }
  if (!c.volumeMounts?.length) w.field(l, 'Mounts', '<none>');
  else {
    w.line(l, 'Mounts:');
    for (const m of c.volumeMounts) {
      const extra = [m.readOnly ? 'ro' : 'rw', ...(m.subPath ? [`path="${m.subPath}"`] : [])].join(',');
      w.line(l + 1, `${m.mountPath} from ${m.name} (${extra})`);
    }
  }
}

/** Pods: `Containers:` / `  name:` / `    Image:`; templates: `  Containers:` / `   name:` / `    Image:`. */
export function writeContainers(
  w: DescribeWriter,
  level: number,
  title: string,
  containers: Container[] | undefined,
  statuses: ContainerStatus[] | undefined,
  templated = false,
): void {
  if (!containers?.length) return;
  w.line(level, `${title}:`);
  const fields = templated ? level + 1 : level + 2;
  const nameLevel = templated ? level : level + 1;
  for (const c of containers) writeContainer(w, nameLevel, fields, c, statuses?.find((s) => s.name === c.name), templated);
}

function volumeLines(v: Volume): [string, string][] {
  if (v.emptyDir) {
    return [
      ['Type', 'EmptyDir (a temporary directory that shares a pod\'s lifetime)'],
      ['Medium', v.emptyDir.medium ?? ''],
      ['SizeLimit', v.emptyDir.sizeLimit ?? '<unset>'],
    ];
  }
  if (v.hostPath) {
    return [
      ['Type', 'HostPath (bare host directory volume)'],
      ['Path', v.hostPath.path],
      ['HostPathType', v.hostPath.type ?? ''],
    ];
  }
  if (v.configMap) {
    return [
      ['Type', 'ConfigMap (a volume populated by a ConfigMap)'],
      ['Name', v.configMap.name],
    ];
  }
  if (v.secret) {
    return [
      ['Type', 'Secret (a volume populated by a Secret)'],
      ['SecretName', v.secret.secretName],
    ];
  }
  return [['Type', '<unknown>']];
}

export function writeVolumes(w: DescribeWriter, level: number, volumes: Volume[] | undefined): void {
  if (!volumes?.length) {
    w.field(level, 'Volumes', '<none>');
    return;
  }
  w.line(level, 'Volumes:');
  for (const v of volumes) {
    w.line(level + 1, `${v.name}:`);
    for (const [k, val] of volumeLines(v)) w.field(level + 2, k, val);
  }
}

function tolerationText(t: Toleration): string {
  let s = t.key ?? '';
  if (t.value) s += `=${t.value}`;
  if (t.effect) s += `:${t.effect}`;
  if (t.operator === 'Exists' && !t.value) s += s ? ' op=Exists' : 'op=Exists';
  if (t.tolerationSeconds !== undefined) s += ` for ${t.tolerationSeconds}s`;
  return s;
}

function writeTolerations(w: DescribeWriter, tolerations: Toleration[] | undefined): void {
  if (!tolerations?.length) {
    w.field(0, 'Tolerations', '<none>');
    return;
  }
  tolerations.forEach((t, i) => w.line(0, `${i === 0 ? 'Tolerations:' : ''}\t${tolerationText(t)}`));
}

/** Kubernetes' QoS rule, for pods whose status does not carry the class yet. */
function qosClass(pod: Pod): string {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const any = containers.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    return ['cpu', 'memory'].every((r) => limits[r] !== undefined && (requests[r] === undefined || String(requests[r]) === String(limits[r])));
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function describePod(w: DescribeWriter, pod: Pod, now: number): void {
  const spec = pod.spec ?? { containers: [] };
  const status = pod.status ?? {};
  w.field(0, 'Name', pod.metadata.name);
  w.field(0, 'Namespace', pod.metadata.namespace);
  w.field(0, 'Priority', spec.priority ?? 0);
  w.field(0, 'Service Account', spec.serviceAccountName || 'default');
  w.field(0, 'Node', spec.nodeName ? `${spec.nodeName}/${status.hostIP ?? ''}` : '<none>');
  if (status.startTime) w.field(0, 'Start Time', rfc1123z(status.startTime));
  writeLabels(w, 0, 'Labels', pod.metadata.labels);
  writeAnnotations(w, 0, pod.metadata.annotations);
  if (pod.metadata.deletionTimestamp && status.phase !== 'Failed' && status.phase !== 'Succeeded') {
    w.field(0, 'Status', `Terminating (lasts ${age(pod.metadata.deletionTimestamp, now)})`);
    w.field(0, 'Termination Grace Period', `${pod.metadata.deletionGracePeriodSeconds ?? 0}s`);
  } else {
    w.field(0, 'Status', status.phase ?? '');
  }
  if (status.reason) w.field(0, 'Reason', status.reason);
  if (status.message) w.field(0, 'Message', status.message);
  w.field(0, 'IP', status.podIP ?? '');
  const ips = status.podIPs?.map((p) => p.ip) ?? (status.podIP ? [status.podIP] : []);
  if (ips.length === 0) w.field(0, 'IPs', '<none>');
  else {
    w.line(0, 'IPs:');
    for (const ip of ips) w.field(1, 'IP', ip);
  }
  writeControlledBy(w, pod);
  writeContainers(w, 0, 'Init Containers', spec.initContainers, status.initContainerStatuses);
  writeContainers(w, 0, 'Containers', spec.containers, status.containerStatuses);
  if (status.conditions?.length) {
    w.line(0, 'Conditions:');
    w.line(1, 'Type\tStatus');
    for (const c of status.conditions) w.line(1, `${c.type} \t${c.status} `);
  }
  writeVolumes(w, 0, spec.volumes);
  w.field(0, 'QoS Class', status.qosClass ?? qosClass(pod));
  writeLabels(w, 0, 'Node-Selectors', spec.nodeSelector);
  writeTolerations(w, spec.tolerations);
}

/** The Pod Template block of deployments, replica sets and the like. */
export function describeTemplate(w: DescribeWriter, level: number, template: PodTemplateSpec | undefined): void {
  w.line(level, 'Pod Template:');
  writeLabels(w, level + 1, 'Labels', template?.metadata?.labels);
  const ann = template?.metadata?.annotations;
  if (ann && Object.keys(ann).length) {
    Object.keys(ann)
      .sort()
      .forEach((k, i) => w.line(level + 1, `${i === 0 ? 'Annotations:' : ''}\t${k}: ${ann[k]}`));
  }
  if (template?.spec?.serviceAccountName) w.field(level + 1, 'Service Account', template.spec.serviceAccountName);
  writeContainers(w, level + 1, 'Init Containers', template?.spec?.initContainers, undefined, true);
  writeContainers(w, level + 1, 'Containers', template?.spec?.containers, undefined, true);
  writeVolumes(w, level + 1, template?.spec?.volumes);
  if (template?.spec?.nodeSelector && Object.keys(template.spec.nodeSelector).length) {
    writeLabels(w, level + 1, 'Node-Selectors', template.spec.nodeSelector);
  }
}
