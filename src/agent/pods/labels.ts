// Labels the agent puts on every sandbox and container it makes: CRI is the source of truth, and
// these are how a container is traced back to its pod and its place in the spec. The names are
// kubelet's, so crictl and other tools show them the way they show kubelet's.

export const labels = {
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  /** `init` or `app`. */
  containerKind: 'io.skiff.container.kind',
  /** Marks what this agent manages, so unrelated containers on a shared runtime are never touched. */
  managed: 'io.skiff.managed',
} as const;

export const managedSelector = { [labels.managed]: 'true' };
