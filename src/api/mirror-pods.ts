import type { KObject } from './types.js';

// Static pods (a node's manifest files) and their mirror pods (the read-only copies the API
// shows), with Kubernetes' annotations. The mirror carries the static pod's UID in
// `kubernetes.io/config.mirror`: the node knows its containers by that UID, the store gives the
// mirror object a UID of its own.

export const annotations = {
  configSource: 'kubernetes.io/config.source',
  configHash: 'kubernetes.io/config.hash',
  configMirror: 'kubernetes.io/config.mirror',
} as const;

export function isMirrorPod(pod: Pick<KObject, 'metadata'>): boolean {
  return pod.metadata.annotations?.[annotations.configMirror] !== undefined;
}

/** The UID the pod's node runs it under: the static pod's for a mirror pod, else the object's. */
export function podUidOnNode(pod: Pick<KObject, 'metadata'>): string | undefined {
  return pod.metadata.annotations?.[annotations.configMirror] ?? pod.metadata.uid;
}

/** A static pod's name in the API: the manifest's name and the node's, as the kubelet names it. */
export const mirrorPodName = (name: string, nodeName: string): string => `${name}-${nodeName}`;
