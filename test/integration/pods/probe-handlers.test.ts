import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeHealthCheckResponse, grpcProbe, runProbe, tcpProbe } from '../../../src/agent/pods/prober/handlers.js';
import type { Probe } from '../../../src/api/types.js';
import type { CriRuntime } from '../../../src/cri/runtime.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/pki/certificates.js';

// The network probe handlers against real servers on loopback: an HTTP and an HTTPS server (a
// certificate no one trusts, as kubelet skips verification), a TCP listener and a gRPC server
// speaking grpc.health.v1. The exec handler runs against containerd in the e2e test.

const noRuntime = {} as CriRuntime;
const target = (podIP: string) => ({ podIP, containerId: 'c', ports: [{ name: 'web', containerPort: 0 }] });

describe('probe handlers on loopback', { timeout: 60_000 }, () => {
  let httpServer: http.Server;
  let httpsServer: https.Server;
  let grpcServer: grpc.Server;
  let httpPort = 0;
  let httpsPort = 0;
  let grpcPort = 0;
  let lastHeaders: IncomingHttpHeaders = {};
  const health: Record<string, number> = { '': 1, sick: 2 };

  const handler: http.RequestListener = (req, res) => {
    lastHeaders = req.headers;
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1500);
    if (req.url === '/moved') return void res.writeHead(302, { Location: '/' }).end();
    if (req.url === '/broken') return void res.writeHead(500).end('no');
    res.end('fine');
  };

  before(async () => {
    httpServer = http.createServer(handler);
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    httpPort = (httpServer.address() as AddressInfo).port;
    const ca = await createCertificateAuthority({ commonName: 'probe-test-ca', validityDays: 1 });
    const cert = await issueCertificate({ ca, commonName: 'localhost', ips: ['127.0.0.1'], usages: ['server'], validityDays: 1 });
    httpsServer = https.createServer({ cert: cert.certPem, key: cert.keyPem }, handler);
    await new Promise<void>((r) => httpsServer.listen(0, '127.0.0.1', r));
    httpsPort = (httpsServer.address() as AddressInfo).port;
    grpcServer = new grpc.Server();
    grpcServer.addService(
      {
        check: {
          path: '/grpc.health.v1.Health/Check',
          requestStream: false,
          responseStream: false,
          requestSerialize: (r: { service: string }) => Buffer.from(r.service),
          // An object, not the bare string: grpc-js takes a falsy request for a missing one.
          requestDeserialize: (b: Buffer) => ({ service: b.length ? b.subarray(2).toString('utf8') : '' }),
          responseSerialize: (n: number) => Buffer.from([0x08, n]),
          responseDeserialize: (b: Buffer) => decodeHealthCheckResponse(b),
        },
      },
      {
        check: (call: grpc.ServerUnaryCall<{ service: string }, number>, cb: grpc.sendUnaryData<number>) => {
          const status = health[call.request.service];
          if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
          else cb(null, status);
        },
      },
    );
    grpcPort = await new Promise<number>((r, j) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? j(e) : r(port))));
  });

  after(async () => {
    await new Promise((r) => httpServer?.close(r));
    await new Promise((r) => httpsServer?.close(r));
    grpcServer?.forceShutdown();
  });

  test('httpGet: 2xx and 3xx pass, others fail with the status code; headers sent; named ports', async () => {
    const probe = (path: string, more: Partial<NonNullable<Probe['httpGet']>> = {}): Probe => ({ httpGet: { path, port: httpPort, ...more }, timeoutSeconds: 1 });
    const ok = await runProbe(probe('/', { httpHeaders: [{ name: 'X-Probe', value: 'yes' }, { name: 'User-Agent', value: 'custom' }] }), target('127.0.0.1'), noRuntime);
    assert.deepEqual(ok, { result: 'success', output: 'fine' }, 'a 200 passes, the body is the output');
    assert.equal(lastHeaders['x-probe'], 'yes', 'the probe headers are sent');
    assert.equal(lastHeaders['user-agent'], 'custom', 'a probe header replaces the default of its name');
    const redirect = await runProbe(probe('/moved'), target('127.0.0.1'), noRuntime);
    assert.equal(redirect.result, 'success', 'a 302 passes');
    const broken = await runProbe(probe('/broken'), target('127.0.0.1'), noRuntime);
    assert.deepEqual(broken, { result: 'failure', output: 'HTTP probe failed with statuscode: 500' }, 'a 500 fails with kubelet’s message');
    await runProbe(probe('/'), target('127.0.0.1'), noRuntime);
    assert.match(String(lastHeaders['user-agent']), /^kube-probe\//, 'the default user agent is kube-probe');
    const named = await runProbe({ httpGet: { path: '/', port: 'web' } }, { podIP: '127.0.0.1', containerId: 'c', ports: [{ name: 'web', containerPort: httpPort }] }, noRuntime);
    assert.equal(named.result, 'success', 'a named port resolves to the container port');
    const unknownPort = await runProbe({ httpGet: { path: '/', port: 'nope' } }, target('127.0.0.1'), noRuntime);
    assert.equal(unknownPort.result, 'unknown', 'an unknown port name is a probe error, not a failure');
  });

  test('httpGet: a slow answer times out; HTTPS skips certificate verification', async () => {
    const slow = await runProbe({ httpGet: { path: '/slow', port: httpPort }, timeoutSeconds: 1 }, target('127.0.0.1'), noRuntime);
    assert.equal(slow.result, 'failure', 'an answer after timeoutSeconds fails');
    assert.match(slow.output, /context deadline exceeded/, `kubelet’s timeout message: ${slow.output}`);
    const secure = await runProbe({ httpGet: { path: '/', port: httpsPort, scheme: 'HTTPS' } }, target('127.0.0.1'), noRuntime);
    assert.deepEqual(secure, { result: 'success', output: 'fine' }, 'HTTPS against an untrusted certificate passes');
  });

  test('tcpSocket: a listener passes, a closed port fails', async () => {
    const listener = net.createServer((s) => s.end());
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const port = (listener.address() as AddressInfo).port;
    assert.equal((await tcpProbe('127.0.0.1', port, 1000)).result, 'success', 'connecting passes');
    await new Promise((r) => listener.close(r));
    const closed = await tcpProbe('127.0.0.1', port, 1000);
    assert.deepEqual(closed, { result: 'failure', output: `dial tcp 127.0.0.1:${port}: connect: connection refused` }, 'a closed port fails as kubelet words it');
  });

  test('grpc: SERVING passes, NOT_SERVING and errors fail', async () => {
    const serving = await grpcProbe('127.0.0.1', grpcPort, '', 1000);
    assert.equal(serving.result, 'success', `the server as a whole is serving: ${serving.output}`);
    const sick = await grpcProbe('127.0.0.1', grpcPort, 'sick', 1000);
    assert.deepEqual(sick, { result: 'failure', output: 'service unhealthy (responded with "NOT_SERVING")' }, 'NOT_SERVING fails');
    const missing = await grpcProbe('127.0.0.1', grpcPort, 'other', 1000);
    assert.equal(missing.result, 'failure', 'an unknown service fails');
    assert.match(missing.output, /health rpc probe failed: unknown service/, missing.output);
    const viaProbe = await runProbe({ grpc: { port: grpcPort, service: 'sick' } }, target('127.0.0.1'), noRuntime);
    assert.equal(viaProbe.result, 'failure', 'runProbe dispatches grpc probes');
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down = await grpcProbe('127.0.0.1', port, '', 1000);
    assert.equal(down.result, 'failure', `no server fails: ${down.output}`);
  });
});
