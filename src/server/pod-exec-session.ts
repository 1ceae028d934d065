import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { NatsConnection } from 'nats';
import { ApiError, errors } from '../api/errors.js';
import { encodeFrame, ExecChannel, ExecFrameDecoder, parseResize, type ExecStreamStatus } from '../api/exec-stream.js';
import { receive } from '../bus/codec.js';
import { codecs, type ExecSessionInput } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { execTarget, nodeUnreachable } from './pod-exec.js';

// `ctl exec -i` and `-it`: the HTTP request was upgraded to the exec stream (src/api/exec-stream.ts);
// this relays it to the pod's node. Client frames become session input on NATS, the node's
// output becomes frames, and the process's exit code is the last frame. Either side going quiet
// (no keepalive) or away ends the session.

export interface ExecSessionDeps {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  keepaliveMs?: number;
  /** The node is taken as lost after hearing nothing from it this long. */
  idleTimeoutMs?: number;
}

export interface ExecSessionQuery {
  container?: string;
  command: string[];
  tty: boolean;
}

/** Resolves what the session runs, or throws the ApiError to answer the upgrade with. */
export async function openExecSession(deps: ExecSessionDeps, namespace: string, name: string, query: ExecSessionQuery): Promise<(socket: Duplex) => void> {
  const { pod, container, node } = await execTarget(deps.store, namespace, name, query.container);
  const session = randomUUID();
  const output = deps.nc.subscribe(subjects.sessionFromNode(node, session));
  let reply;
  try {
    const msg = await deps.nc.request(
      subjects.toNode(node, 'session'),
      codecs.execSessionOpen.encode({ v: 1, namespace, name, uid: pod.metadata.uid!, container, command: query.command, tty: query.tty, session }),
      { timeout: 10_000 },
    );
    const decoded = codecs.execSessionOpenReply.decode(msg.data);
    if (!decoded.ok) throw errors.internal(`node "${node}" sent an unreadable exec reply: ${decoded.reason}`);
    reply = decoded.value;
  } catch (e) {
    output.unsubscribe();
    throw e instanceof ApiError ? e : nodeUnreachable(node, e);
  }
  if (!reply.ok) {
    output.unsubscribe();
    throw new ApiError(reply.error.reason, reply.error.message);
  }
  const log = deps.log.child({ session, pod: `${namespace}/${name}`, container, node });

  return (socket: Duplex) => {
    const send = (m: ExecSessionInput) => {
      if (!deps.nc.isClosed()) deps.nc.publish(subjects.sessionToNode(node, session), codecs.execSessionInput.encode(m));
    };
    let finished = false;
    let lastHeard = Date.now();
    const finish = (status: ExecStreamStatus | undefined) => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      output.unsubscribe();
      if (status) socket.end(encodeFrame(ExecChannel.status, JSON.stringify(status)));
      else {
        send({ v: 1, kind: 'close' });
        socket.destroy();
      }
      log.debug({ status }, 'exec session ended');
    };
    const idleTimeoutMs = deps.idleTimeoutMs ?? 30_000;
    const timer = setInterval(() => {
      if (Date.now() - lastHeard > idleTimeoutMs) {
        send({ v: 1, kind: 'close' });
        finish({ error: { reason: 'ServiceUnavailable', message: `lost node "${node}" during the exec session` } });
        return;
      }
      send({ v: 1, kind: 'keepalive' });
    }, deps.keepaliveMs ?? 5_000);

    void (async () => {
      for await (const msg of output) {
        const m = receive(codecs.execSessionOutput, msg, log);
        if (!m) continue;
        lastHeard = Date.now();
        if (m.kind === 'stdout' || m.kind === 'stderr') {
          socket.write(encodeFrame(m.kind === 'stdout' ? ExecChannel.stdout : ExecChannel.stderr, Buffer.from(m.data, 'base64')));
        } else if (m.kind === 'exit') finish({ exitCode: m.exitCode });
        else if (m.kind === 'error') finish({ error: { reason: 'InternalError', message: m.message } });
      }
    })();

    const decoder = new ExecFrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        log.warn({ err: e }, 'exec client sent a bad frame');
        finish(undefined);
        return;
      }
      for (const f of frames) {
        if (f.channel === ExecChannel.stdin) {
          // Session messages carry at most 256 KiB of input each.
          for (let i = 0; i < f.payload.length; i += 256 * 1024) send({ v: 1, kind: 'stdin', data: f.payload.subarray(i, i + 256 * 1024).toString('base64') });
        } else if (f.channel === ExecChannel.resize) {
          const size = parseResize(f.payload);
          if (size) send({ v: 1, kind: 'resize', ...size });
        } else if (f.channel === ExecChannel.closeStdin) send({ v: 1, kind: 'eof' });
      }
    });
    socket.on('close', () => finish(undefined));
    socket.on('error', (e) => log.debug({ err: e }, 'exec client connection failed'));
  };
}
