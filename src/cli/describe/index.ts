import { isApiError } from '../../api/errors.js';
import { resourceByKind, type ResourceInfo } from '../../api/resources.js';
import { labelSelectorToString } from '../../api/selector.js';
import type { Deployment, Event, KObject, LimitRange, Namespace, Node, Pod, ReplicaSet, ReplicationController, ResourceQuota } from '../../api/types.js';
import { formatApiError } from '../errors.js';
import type { Io } from '../io.js';
import type { ResourceTarget } from '../kinds.js';
import { formatLabels } from '../printers/columns.js';
import { DescribeWriter } from '../printers/describe-writer.js';
import type { RestClient } from '../rest-client.js';
import { writeEvents } from './common.js';
import { describeEvent, describeGeneric } from './generic.js';
import { describeNode, describeNamespace } from './node.js';
import { describePod } from './pod.js';
import { describeLimitRange, describeResourceQuota } from './quota.js';
import { describeDeployment, describeReplicaSet } from './workloads.js';

// `ctl describe`: fetch what each describer needs besides the object (its events, the replica
// sets of a deployment, the pods of a node), then lay it out.

function info(kind: string): ResourceInfo {
  const r = resourceByKind(kind);
  if (!r) throw new Error(`resource table lacks ${kind}`);
  return r;
}

/** The object's events, matched on name, namespace and uid as kubectl does. */
export async function eventsFor(client: RestClient, obj: KObject): Promise<Event[]> {
  const terms = [`involvedObject.name=${obj.metadata.name}`];
  if (obj.metadata.namespace) terms.push(`involvedObject.namespace=${obj.metadata.namespace}`);
  if (obj.metadata.uid) terms.push(`involvedObject.uid=${obj.metadata.uid}`);
  const list = await client.list(info('Event'), { namespace: obj.metadata.namespace, fieldSelector: terms.join(',') });
  return list.items as Event[];
}

const ownedBy = (owner: KObject) => (o: KObject) => o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid) ?? false;

/** Kinds whose kubectl describers print no Events section. */
const withoutEvents = new Set(['Event', 'ResourceQuota', 'LimitRange']);

/** The full describe text of one object. */
export async function describeObject(client: RestClient, obj: KObject, opts: { showEvents: boolean; now?: number }): Promise<string> {
  const now = opts.now ?? Date.now();
  const w = new DescribeWriter();
  const ns = obj.metadata.namespace;
  switch (obj.kind) {
    case 'Pod':
      describePod(w, obj as Pod, now);
      break;
    case 'Deployment': {
      const d = obj as Deployment;
      const rs = await client.list(info('ReplicaSet'), { namespace: ns, labelSelector: selectorQuery(labelSelectorToString(d.spec?.selector ?? {})) });
      describeDeployment(w, d, rs.items.filter(ownedBy(d)) as ReplicaSet[]);
      break;
    }
    case 'ReplicaSet':
    case 'ReplicationController': {
      const rs = obj as ReplicaSet | ReplicationController;
      const sel =
        rs.kind === 'ReplicationController'
          ? formatLabels((rs as ReplicationController).spec?.selector)
          : labelSelectorToString((rs as ReplicaSet).spec?.selector ?? {});
      const pods = await client.list(info('Pod'), { namespace: ns, labelSelector: selectorQuery(sel) });
      describeReplicaSet(w, rs, pods.items.filter(ownedBy(rs)) as Pod[]);
      break;
    }
    case 'Node': {
      const pods = await client.list(info('Pod'), { fieldSelector: `spec.nodeName=${obj.metadata.name}` });
      describeNode(w, obj as Node, pods.items as Pod[], now);
      break;
    }
    case 'Namespace': {
      const [quotas, limits] = await Promise.all([
        client.list(info('ResourceQuota'), { namespace: obj.metadata.name }),
        client.list(info('LimitRange'), { namespace: obj.metadata.name }),
      ]);
      describeNamespace(w, obj as Namespace, quotas.items as ResourceQuota[], limits.items as LimitRange[]);
      break;
    }
    case 'ResourceQuota':
      describeResourceQuota(w, obj as ResourceQuota);
      break;
    case 'LimitRange':
      describeLimitRange(w, obj as LimitRange);
      break;
    case 'Event':
      describeEvent(w, obj as Event);
      break;
    default:
      describeGeneric(w, obj);
  }
  if (opts.showEvents && !withoutEvents.has(obj.kind)) writeEvents(w, await eventsFor(client, obj), now);
  return w.toString();
}

/** `<none>` (an empty selector) selects everything; the query wants it empty then. */
function selectorQuery(sel: string): string | undefined {
  return sel === '<none>' || sel === '<error>' ? undefined : sel;
}

export interface DescribeCommandOptions {
  namespace: string;
  allNamespaces: boolean;
  labelSelector?: string;
  showEvents: boolean;
}

/**
 * `ctl describe KIND [NAME...]`: a name that matches no object exactly describes those whose
 * names start with it (kubectl does the same), so `describe pod web` finds `web-5d9c-x2`.
 */
export async function runDescribe(client: RestClient, io: Io, targets: ResourceTarget[], opts: DescribeCommandOptions): Promise<number> {
  const found: KObject[] = [];
  let failed = false;
  for (const t of targets) {
    const ns = t.info.namespaced ? opts.namespace : '';
    if (t.names.length === 0) {
      const list = await client.list(t.info, {
        namespace: t.info.namespaced && !opts.allNamespaces ? ns : undefined,
        labelSelector: opts.labelSelector,
      });
      found.push(...list.items);
      continue;
    }
    for (const name of t.names) {
      try {
        found.push(await client.get(t.info, ns, name));
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
        const list = await client.list(t.info, { namespace: ns || undefined });
        const prefixed = list.items.filter((o) => o.metadata.name?.startsWith(name));
        if (prefixed.length === 0) {
          io.err(`${formatApiError(e)}\n`);
          failed = true;
        }
        found.push(...prefixed);
      }
    }
  }
  if (found.length === 0 && !failed) {
    io.err(targets.every((t) => t.info.namespaced) && !opts.allNamespaces ? `No resources found in ${opts.namespace} namespace.\n` : 'No resources found\n');
  }
  const texts: string[] = [];
  for (const obj of found) texts.push(await describeObject(client, obj, { showEvents: opts.showEvents }));
  if (texts.length) io.out(texts.join('\n\n'));
  return failed ? 1 : 0;
}
