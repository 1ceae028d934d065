import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ociContent, splitReference, type OciImage } from '../../src/cri/oci-image.js';

// A read-only registry on loopback that serves locally built images through the Distribution
// API (the part a pull uses: /v2/, manifests and blobs), optionally behind basic auth. It lets
// tests pull through containerd for real with no internet.

export interface TestRegistry {
  /** host:port */
  host: string;
  /** Paths requested so far, e.g. to check a pull went through this registry. */
  requests: string[];
  close(): Promise<void>;
}

export async function startTestRegistry(images: OciImage[], auth?: { username: string; password: string }): Promise<TestRegistry> {
  const { blobs, manifests } = ociContent(images);
  const byRepoTag = new Map(manifests.map((m) => {
    const { repository, tag } = splitReference(m.name);
    // Requests name the repository without its registry host.
    return [`${repository.replace(/^[^/]+\//, '')}:${tag}`, m];
  }));
  const requests: string[] = [];
  const expected = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : undefined;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    requests.push(`${req.method} ${url.pathname}`);
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="skiff-test"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    const send = (type: string, body: Buffer, digest: string) => {
      res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'docker-content-digest': digest });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const [, repo, kind, ref] = m;
      if (kind === 'manifests') {
        const d = ref.startsWith('sha256:') ? manifests.find((x) => x.digest === ref) : byRepoTag.get(`${repo}:${ref}`);
        if (d) return send(d.mediaType, blobs.get(d.digest)!, d.digest);
      } else {
        const blob = blobs.get(ref);
        if (blob) return send('application/octet-stream', blob, ref);
      }
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: m?.[2] === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: 'not found' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
