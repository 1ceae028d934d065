import { z } from 'zod';
import type { Logger } from '../log/logger.js';

// One codec per message type: JSON on the wire, validated by a zod schema where it enters the
// process. A message that fails is rejected with a reason naming the field, never thrown past
// the subscription loop that received it. Sending is not validated again: the sender's types fix
// the shape, and the receiver checks it anyway.

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Codec<T> {
  /** Message type name, for logs. */
  readonly type: string;
  encode(msg: T): Uint8Array;
  decode(data: Uint8Array): Decoded<T>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(message)'}: ${i.message}`)
    .join('; ');
}

export function jsonCodec<S extends z.ZodType>(type: string, schema: S): Codec<z.output<S>> {
  return {
    type,
    encode(msg) {
      return encoder.encode(JSON.stringify(msg));
    },
    decode(data) {
      let raw: unknown;
      try {
        raw = JSON.parse(decoder.decode(data));
      } catch (e) {
        return { ok: false, reason: `${type}: not JSON: ${(e as Error).message}` };
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) return { ok: false, reason: `${type}: ${describeIssues(parsed.error)}` };
      return { ok: true, value: parsed.data };
    },
  };
}

/** Decodes a received message; on failure logs why (with the subject) and returns undefined. */
export function receive<T>(codec: Codec<T>, msg: { subject: string; data: Uint8Array }, log: Logger): T | undefined {
  const d = codec.decode(msg.data);
  if (d.ok) return d.value;
  log.warn({ subject: msg.subject, reason: d.reason }, 'dropped a message that failed validation');
  return undefined;
}
