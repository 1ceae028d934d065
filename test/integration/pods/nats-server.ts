import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import { freePort } from '../../helpers/ports.js';

export { freePort };

// A bare nats-server on a free loopback port for tests of pod traffic (permissions and TLS are
// the NATS plane's tests); stop() kills it by pid.


export interface TestNats {
  url: string;
  connect(): Promise<NatsConnection>;
  /** Starts nats-server again on the same port after stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function spawnNats(port: number, url: string): Promise<ChildProcess> {
  const child = spawn(process.env.NATS_SERVER ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      const nc = await connect({ servers: url, reconnect: false, timeout: 1000 });
      await nc.close();
      return child;
    } catch (e) {
      if (Date.now() > end) {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
        throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function startTestNats(): Promise<TestNats> {
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined = await spawnNats(port, url);
  return {
    url,
    connect: () => connect({ servers: url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 200 }),
    async start() {
      child ??= await spawnNats(port, url);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c?.pid || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      process.kill(c.pid, 'SIGKILL');
      await exited;
    },
  };
}
