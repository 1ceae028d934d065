// One error taxonomy for the whole project, mapped to HTTP codes and Kubernetes Status
// reasons here and nowhere else.

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'ServiceUnavailable'
  | 'InternalError';

export const httpCodeOf: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  UnsupportedMediaType: 415,
  RequestEntityTooLarge: 413,
  Invalid: 422,
  InternalError: 500,
  ServiceUnavailable: 503,
};

/** Kubernetes field.ErrorType values, as printed ("Required value", "Invalid value", ...). */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueNotFound';

export interface FieldError {
  field: string;
  type: FieldErrorType;
  /** The offending value, when there is one worth showing. */
  value?: unknown;
  detail?: string;
}

const fieldErrorTypeText: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueNotFound: 'Not found',
};

/** `spec.containers[0].image: Required value`, `spec.replicas: Invalid value: -1: must be greater than or equal to 0`. */
export function formatFieldError(e: FieldError): string {
  const parts = [`${e.field}: ${fieldErrorTypeText[e.type]}`];
  if (e.value !== undefined && e.type !== 'FieldValueRequired') parts.push(JSON.stringify(e.value));
  if (e.detail) parts.push(e.detail);
  return parts.join(': ');
}

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The Kubernetes `Status` object returned as an error body. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  readonly reason: StatusReason;
  readonly details?: StatusDetails;

  constructor(reason: StatusReason, message: string, details?: StatusDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.reason = reason;
    this.details = details;
  }

  get code(): number {
    return httpCodeOf[this.reason];
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }

  static fromStatus(s: Status): ApiError {
    return new ApiError(s.reason, s.message, s.details);
  }
}

/** A resource name as Kubernetes spells it in messages: `pods "web"`. */
function named(resource: string, name: string): string {
  return `${resource} "${name}"`;
}

export const errors = {
  notFound: (resource: string, name: string) =>
    new ApiError('NotFound', `${named(resource, name)} not found`, { name, kind: resource }),
  alreadyExists: (resource: string, name: string) =>
    new ApiError('AlreadyExists', `${named(resource, name)} already exists`, { name, kind: resource }),
  conflict: (resource: string, name: string, why: string) =>
    new ApiError('Conflict', `Operation cannot be fulfilled on ${named(resource, name)}: ${why}`, { name, kind: resource }),
  gone: (message: string) => new ApiError('Gone', message),
  badRequest: (message: string) => new ApiError('BadRequest', message),
  unauthorized: (message = 'Unauthorized') => new ApiError('Unauthorized', message),
  forbidden: (resource: string, name: string, why: string) =>
    new ApiError('Forbidden', `${named(resource, name)} is forbidden: ${why}`, { name, kind: resource }),
  methodNotAllowed: (message: string) => new ApiError('MethodNotAllowed', message),
  unsupportedMediaType: (message: string) => new ApiError('UnsupportedMediaType', message),
  tooLarge: (message: string) => new ApiError('RequestEntityTooLarge', message),
  unavailable: (message: string) => new ApiError('ServiceUnavailable', message),
  internal: (message: string, cause?: unknown) => new ApiError('InternalError', message, undefined, { cause }),
  /** `Pod "web" is invalid: [spec.containers[0].image: Required value, ...]` */
  invalid: (kind: string, name: string, errs: FieldError[]) => {
    const msgs = errs.map(formatFieldError);
    const list = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
    return new ApiError('Invalid', `${kind} "${name}" is invalid: ${list}`, {
      name,
      kind,
      causes: errs.map((e, i) => ({ reason: e.type, message: msgs[i].slice(e.field.length + 2), field: e.field })),
    });
  },
};

export function isApiError(e: unknown, reason?: StatusReason): e is ApiError {
  return e instanceof ApiError && (reason === undefined || e.reason === reason);
}
