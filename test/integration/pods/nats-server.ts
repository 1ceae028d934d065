import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { connect, type NatsConnection } from 'nats';

// A bare nats-server on a free loopback port for tests of pod traffic (permissions and TLS are
// the NATS plane's tests); stop() kills it by pid.

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestNats {
  url: string;
  connect(): Promise<NatsConnection>;
  stop(): Promise<void>;
}

export async function startTestNats(): Promise<TestNats> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.env.NATS_SERVER ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      const nc = await connect({ servers: url, reconnect: false, timeout: 1000 });
      await nc.close();
      break;
    } catch (e) {
      if (Date.now() > end) {
        child.kill('SIGKILL');
        throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    connect: () => connect({ servers: url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 200 }),
    async stop() {
      if (child.exitCode !== null || !child.pid) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    },
  };
}
