import { ApiError, isApiError } from '../api/errors.js';

// What a user sees when a command fails: one message on stderr, exit code 1, no stack trace.
// Server errors read as kubectl prints them, so people can search for them.

/** An error the CLI itself detected (bad flags, unreadable files, unknown kinds, no server). */
export class CliError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}

/**
 * kubectl's wording: `Error from server (NotFound): pods "x" not found`, and for an Invalid object
 * `The Pod "x" is invalid:` followed by one `* field: problem` line per cause (a single cause
 * stays on the first line). `context` is kubectl's `error when creating "file.yaml"` part.
 */
export function formatApiError(e: ApiError, context?: string): string {
  if (e.reason === 'Invalid') {
    const d = e.details;
    let head = 'The request is invalid';
    if (d?.kind || d?.name) head = `The ${d.kind ?? ''} ${JSON.stringify(d.name ?? '')} is invalid`;
    else if (d?.causes?.[0]?.field) head = `The ${d.causes[0].field} is invalid`;
    const causes = (d?.causes ?? []).map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    if (causes.length === 0) return head;
    if (causes.length === 1) return `${head}: ${causes[0]}`;
    return `${head}:\n${causes.map((c) => `* ${c}`).join('\n')}`;
  }
  return `Error from server (${e.reason}): ${context ? `${context}: ` : ''}${e.message}`;
}

/** The text printed for any error that ends a command. */
export function formatError(e: unknown): string {
  if (isApiError(e)) return formatApiError(e);
  if (e instanceof CliError) return `error: ${e.message}`;
  if (e instanceof Error) return `error: ${e.message}`;
  return `error: ${String(e)}`;
}
