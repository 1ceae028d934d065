import { revisionAnnotation } from '../../api/deployment-annotations.js';
import { labelSelectorToString } from '../../api/selector.js';
import type { Deployment, KObject, Pod, ReplicaSet, ReplicationController } from '../../api/types.js';
import { formatLabels } from '../printers/columns.js';
import type { DescribeWriter } from '../printers/describe-writer.js';
import { rfc1123z, writeAnnotations, writeControlledBy, writeLabels } from './common.js';
import { describeTemplate } from './pod.js';

// describe for deployments, replica sets and replication controllers.

function revisionOf(rs: KObject): number {
  return Number(rs.metadata.annotations?.[revisionAnnotation] ?? 0) || 0;
}

function rsSummary(rs: ReplicaSet): string {
  return `${rs.metadata.name} (${rs.status?.replicas ?? 0}/${rs.spec?.replicas ?? 0} replicas created)`;
}

function writeConditions(w: DescribeWriter, conditions: { type: string; status: string; reason?: string }[] | undefined): void {
  if (!conditions?.length) return;
  w.line(0, 'Conditions:');
  w.line(1, 'Type\tStatus\tReason');
  w.line(1, '----\t------\t------');
  for (const c of conditions) w.line(1, `${c.type} \t${c.status}\t${c.reason ?? ''}`);
}

/** `ownedReplicaSets`: the deployment's replica sets, for the NewReplicaSet/OldReplicaSets lines. */
export function describeDeployment(w: DescribeWriter, d: Deployment, ownedReplicaSets: ReplicaSet[]): void {
  const spec = d.spec;
  const st = d.status ?? {};
  w.field(0, 'Name', d.metadata.name);
  w.field(0, 'Namespace', d.metadata.namespace);
  w.field(0, 'CreationTimestamp', rfc1123z(d.metadata.creationTimestamp));
  writeLabels(w, 0, 'Labels', d.metadata.labels);
  writeAnnotations(w, 0, d.metadata.annotations);
  w.field(0, 'Selector', labelSelectorToString(spec?.selector ?? {}));
  w.field(
    0,
    'Replicas',
    `${spec?.replicas ?? 1} desired | ${st.updatedReplicas ?? 0} updated | ${st.replicas ?? 0} total | ` +
      `${st.availableReplicas ?? 0} available | ${st.unavailableReplicas ?? 0} unavailable`,
  );
  const strategy = spec?.strategy?.type ?? 'RollingUpdate';
  w.field(0, 'StrategyType', strategy);
  w.field(0, 'MinReadySeconds', spec?.minReadySeconds ?? 0);
  if (strategy === 'RollingUpdate') {
    const ru = spec?.strategy?.rollingUpdate ?? {};
    w.field(0, 'RollingUpdateStrategy', `${ru.maxUnavailable ?? '25%'} max unavailable, ${ru.maxSurge ?? '25%'} max surge`);
  }
  describeTemplate(w, 0, spec?.template);
  writeConditions(w, st.conditions);
  const sorted = [...ownedReplicaSets].sort((a, b) => revisionOf(b) - revisionOf(a));
  const [newest, ...older] = sorted;
  const old = older.filter((rs) => (rs.spec?.replicas ?? 0) > 0 || (rs.status?.replicas ?? 0) > 0);
  w.field(0, 'OldReplicaSets', old.length ? old.map(rsSummary).join(', ') : '<none>');
  w.field(0, 'NewReplicaSet', newest ? rsSummary(newest) : '<none>');
}

function podsStatus(pods: Pod[]): string {
  const count = (phase: string) => pods.filter((p) => (p.status?.phase ?? 'Pending') === phase).length;
  return `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`;
}

/** Replica sets and replication controllers share a layout; `pods` are the ones they own. */
export function describeReplicaSet(w: DescribeWriter, rs: ReplicaSet | ReplicationController, pods: Pod[]): void {
  w.field(0, 'Name', rs.metadata.name);
  w.field(0, 'Namespace', rs.metadata.namespace);
  const sel = rs.spec?.selector;
  w.field(0, 'Selector', rs.kind === 'ReplicationController' ? formatLabels(sel as Record<string, string>) : labelSelectorToString((sel ?? {}) as ReplicaSet['spec']['selector']));
  writeLabels(w, 0, 'Labels', rs.metadata.labels);
  writeAnnotations(w, 0, rs.metadata.annotations);
  writeControlledBy(w, rs);
  w.field(0, 'Replicas', `${rs.status?.replicas ?? 0} current / ${rs.spec?.replicas ?? 1} desired`);
  w.field(0, 'Pods Status', podsStatus(pods));
  describeTemplate(w, 0, rs.spec?.template);
  writeConditions(w, rs.status?.conditions);
}
