// The wire format of an interactive `exec` (stdin and/or a terminal) between the client and the
// API server. The client upgrades `POST .../pods/NAME/exec` to this protocol (HTTP/1.1 Upgrade,
// as Kubernetes does with WebSocket), then both sides exchange frames: one channel byte, a
// 4-byte big-endian length, the payload. The channels are Kubernetes' (channel.k8s.io) ones.

export const EXEC_STREAM_PROTOCOL = 'skiff-exec.v1';

export const ExecChannel = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  /** Server → client, last frame: JSON ExecStreamStatus. */
  status: 3,
  /** Client → server: JSON `{"Width": cols, "Height": rows}`, as kubectl sends it. */
  resize: 4,
  /** Client → server: stdin reached its end (empty payload). */
  closeStdin: 5,
} as const;
export type ExecChannel = (typeof ExecChannel)[keyof typeof ExecChannel];

export type ExecStreamStatus = { exitCode: number } | { error: { reason: string; message: string } };

/** One frame is at most this big; a terminal never needs more and it bounds a peer's memory. */
export const maxFramePayload = 1024 * 1024;

const headerBytes = 5;

export function encodeFrame(channel: ExecChannel, payload: Uint8Array | string = new Uint8Array(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length > maxFramePayload) throw new RangeError(`an exec frame carries at most ${maxFramePayload} bytes, got ${body.length}`);
  const frame = Buffer.allocUnsafe(headerBytes + body.length);
  frame.writeUInt8(channel, 0);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, headerBytes);
  return frame;
}

export interface ExecFrame {
  channel: ExecChannel;
  payload: Buffer;
}

const knownChannels = new Set<number>(Object.values(ExecChannel));

/** Reassembles frames from a byte stream cut anywhere; throws on a frame no peer should send. */
export class ExecFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ExecFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: ExecFrame[] = [];
    while (this.pending.length >= headerBytes) {
      const channel = this.pending.readUInt8(0);
      const length = this.pending.readUInt32BE(1);
      if (!knownChannels.has(channel)) throw new Error(`exec stream: unknown channel ${channel}`);
      if (length > maxFramePayload) throw new Error(`exec stream: a frame of ${length} bytes is over the ${maxFramePayload}-byte limit`);
      if (this.pending.length < headerBytes + length) break;
      frames.push({ channel: channel as ExecChannel, payload: this.pending.subarray(headerBytes, headerBytes + length) });
      this.pending = this.pending.subarray(headerBytes + length);
    }
    return frames;
  }
}

/** The terminal size from a resize frame, or undefined for anything that is not one. */
export function parseResize(payload: Buffer): { cols: number; rows: number } | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 10_000;
    return ok(v.Width) && ok(v.Height) ? { cols: v.Width, rows: v.Height } : undefined;
  } catch {
    return undefined;
  }
}
