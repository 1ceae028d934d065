// The names the Deployment controller and `ctl rollout` share: a ReplicaSet's revision and
// template hash, and the Deployment annotations that describe the Deployment itself rather
// than one of its revisions (never copied to a ReplicaSet, kept by an undo).

export const templateHashLabel = 'pod-template-hash';
export const revisionAnnotation = 'deployment.kubernetes.io/revision';

export const deploymentOwnAnnotations: ReadonlySet<string> = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);
