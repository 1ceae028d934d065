// Errors from the container runtime: one class for failed CRI calls (keeping the gRPC code, so a
// caller can tell "already gone" from a real failure) and one for a runtime that cannot be used
// at all, whose message tells the operator what to do.
import { status as GrpcStatus } from '@grpc/grpc-js';

/** A CRI call that the runtime answered with an error, or that timed out. */
export class CriError extends Error {
  override readonly name = 'CriError';
  constructor(
    /** The CRI method, e.g. `RunPodSandbox`. */
    readonly method: string,
    /** The gRPC status code (see `status` in @grpc/grpc-js). */
    readonly code: number,
    /** The runtime's own words. */
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`CRI ${method} failed: ${details || GrpcStatus[code] || `gRPC code ${code}`}`, options);
  }

  /** `NOT_FOUND`, `DEADLINE_EXCEEDED`, ... */
  get codeName(): string {
    return GrpcStatus[this.code] ?? String(this.code);
  }
}

export type CriConnectProblem = 'socket-missing' | 'unreachable' | 'cri-disabled' | 'not-ready';

/** The runtime at an endpoint cannot be used; `problem` says which check failed. */
export class CriConnectError extends Error {
  override readonly name = 'CriConnectError';
  constructor(
    readonly endpoint: string,
    readonly problem: CriConnectProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for a CRI error saying the object does not exist (already removed, never created). */
export function isNotFound(err: unknown): boolean {
  return err instanceof CriError && err.code === GrpcStatus.NOT_FOUND;
}

/** True when the call ran out of time before the runtime answered. */
export function isDeadlineExceeded(err: unknown): boolean {
  return err instanceof CriError && err.code === GrpcStatus.DEADLINE_EXCEEDED;
}
