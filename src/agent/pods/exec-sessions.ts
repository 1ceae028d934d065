import type { Msg, NatsConnection, Subscription } from 'nats';
import { receive } from '../../bus/codec.js';
import { codecs, type ExecSessionOpen, type ExecSessionOpenReply, type ExecSessionOutput } from '../../bus/messages.js';
import { subjects } from '../../bus/subjects.js';
import type { CriRuntime } from '../../cri/runtime.js';
import type { TaskExecOptions, TaskExecProcess } from '../../cri/task-exec.js';
import type { Logger } from '../../log/logger.js';
import { containerNotFound, findRunningContainer } from './container-exec.js';

// `ctl exec -i` / `-it` on this node: the control plane opens a session
// (skiff.to.NODE.session), then streams input on the session's own subject while the process's
// output comes back on ours. Both ends send keepalives; a session whose control plane went
// quiet is ended, so a lost client never leaves a shell running in a container.

export interface ExecSessionsOptions {
  nodeName: string;
  runtime: CriRuntime;
  /** containerd's socket and runc state; undefined when the node's runtime is not one we can reach that way. */
  containerd?: { address: string; runcRoot: string };
  startProcess: (o: TaskExecOptions) => TaskExecProcess;
  log: Logger;
  keepaliveMs?: number;
  /** A session hearing nothing from the control plane this long is ended. */
  idleTimeoutMs?: number;
}

/** Output is sent in pieces that stay well under NATS' 1 MB message limit once in base64. */
const maxChunk = 256 * 1024;

export class ExecSessions {
  private readonly sessions = new Map<string, { proc: TaskExecProcess; sub: Subscription; timer: NodeJS.Timeout }>();
  private openSub: Subscription | undefined;

  constructor(private readonly opts: ExecSessionsOptions) {}

  start(nc: NatsConnection): void {
    this.openSub = nc.subscribe(subjects.toNode(this.opts.nodeName, 'session'), {
      callback: (err, msg) => {
        if (err || !msg.reply) return;
        const req = receive(codecs.execSessionOpen, msg, this.opts.log);
        if (!req) return;
        this.open(nc, req)
          .then((reply) => msg.respond(codecs.execSessionOpenReply.encode(reply)))
          .catch((e) => this.opts.log.warn({ err: e }, 'opening an exec session failed'));
      },
    });
  }

  stop(): void {
    this.openSub?.unsubscribe();
    for (const id of [...this.sessions.keys()]) this.end(id, true);
  }

  private async open(nc: NatsConnection, req: ExecSessionOpen): Promise<ExecSessionOpenReply> {
    const fail = (reason: 'NotFound' | 'BadRequest' | 'InternalError', message: string): ExecSessionOpenReply => ({ v: 1, ok: false, error: { reason, message } });
    const containerd = this.opts.containerd;
    if (!containerd) {
      return fail('BadRequest', `node "${this.opts.nodeName}" runs interactive exec only on containerd; exec without -i works on any CRI runtime`);
    }
    if (this.sessions.has(req.session)) return fail('BadRequest', `exec session ${req.session} is already open`);
    const containerId = await findRunningContainer(this.opts.runtime, req.uid, req.container);
    if (!containerId) return fail('BadRequest', containerNotFound(req.container));

    const out = subjects.sessionFromNode(this.opts.nodeName, req.session);
    const send = (m: ExecSessionOutput) => {
      if (!nc.isClosed()) nc.publish(out, codecs.execSessionOutput.encode(m));
    };
    let proc: TaskExecProcess;
    try {
      proc = this.opts.startProcess({ ...containerd, containerId, command: req.command, tty: req.tty, execId: `skiff-${req.session}` });
    } catch (e) {
      return fail('InternalError', `starting the process in container "${req.container}" failed: ${(e as Error).message}`);
    }
    proc.onOutput((stream, data) => {
      for (let i = 0; i < data.length; i += maxChunk) send({ v: 1, kind: stream, data: data.subarray(i, i + maxChunk).toString('base64') });
    });
    proc.onExit((exitCode) => {
      send({ v: 1, kind: 'exit', exitCode });
      this.end(req.session, false);
    });

    let lastHeard = Date.now();
    const idleTimeoutMs = this.opts.idleTimeoutMs ?? 30_000;
    const timer = setInterval(() => {
      if (Date.now() - lastHeard > idleTimeoutMs) {
        this.opts.log.info({ session: req.session }, 'exec session ended: its control plane went quiet');
        this.end(req.session, true);
        return;
      }
      send({ v: 1, kind: 'keepalive' });
    }, this.opts.keepaliveMs ?? 5_000);
    const sub = nc.subscribe(subjects.sessionToNode(this.opts.nodeName, req.session), {
      callback: (err, msg: Msg) => {
        if (err) return;
        const input = receive(codecs.execSessionInput, msg, this.opts.log);
        if (!input) return;
        lastHeard = Date.now();
        switch (input.kind) {
          case 'stdin':
            proc.write(Buffer.from(input.data, 'base64'));
            break;
          case 'resize':
            proc.resize(input.cols, input.rows);
            break;
          case 'eof':
            proc.endInput();
            break;
          case 'close':
            this.end(req.session, true);
            break;
          case 'keepalive':
            break;
        }
      },
    });
    this.sessions.set(req.session, { proc, sub, timer });
    this.opts.log.info({ session: req.session, pod: `${req.namespace}/${req.name}`, container: req.container, tty: req.tty }, 'exec session opened');
    return { v: 1, ok: true };
  }

  private end(id: string, kill: boolean): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    clearInterval(s.timer);
    s.sub.unsubscribe();
    if (kill) s.proc.kill();
  }
}
