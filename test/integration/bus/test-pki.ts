import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caCertHash } from '../../../src/agent/node-key.js';
import type { NatsPlanePki } from '../../../src/server/nats-plane.js';

// A throwaway CA for tests of the NATS plane, made with the openssl tool: ECDSA P-256,
// certificates as the control plane issues them (server certificate with SANs, node client
// certificates from a CSR). Joiners use the real node-side code (src/agent/node-key.ts).

function openssl(dir: string, args: string[], input?: string): string {
  return execFileSync('openssl', args, { cwd: dir, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-test-pki-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


export async function testPki(): Promise<NatsPlanePki> {
  const { caPem, caKey } = withDir((dir) => {
    openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=skiff-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return { caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), caKey: readFileSync(join(dir, 'ca.key'), 'utf8') };
  });
  const sign = (dir: string, csr: string, subj: string, ext: string) => {
    writeFileSync(join(dir, 'ca.crt'), caPem);
    writeFileSync(join(dir, 'ca.key'), caKey);
    writeFileSync(join(dir, 'req.csr'), csr);
    writeFileSync(join(dir, 'ext.cnf'), `[ext]\n${ext}\n`);
    openssl(dir, ['req', '-in', 'req.csr', '-verify', '-noout']);
    return openssl(dir, ['x509', '-req', '-in', 'req.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-subj', subj, '-extfile', 'ext.cnf', '-extensions', 'ext']);
  };
  return {
    caPem,
    caCertHash: caCertHash(caPem),
    async issueServerCertificate({ dnsNames, ipAddresses }) {
      return withDir((dir) => {
        openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=skiff-nats']);
        const san = [...dnsNames.map((d) => `DNS:${d}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(',');
        const certPem = sign(dir, readFileSync(join(dir, 'srv.csr'), 'utf8'), '/CN=skiff-nats', `subjectAltName=${san}\nextendedKeyUsage=serverAuth`);
        return { certPem, keyPem: readFileSync(join(dir, 'srv.key'), 'utf8') };
      });
    },
    async issueNodeCertificate(csrPem, nodeName) {
      return withDir((dir) => sign(dir, csrPem, `/O=system:nodes/CN=system:node:${nodeName}`, 'extendedKeyUsage=clientAuth'));
    },
  };
}
