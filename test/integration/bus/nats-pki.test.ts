import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { nodeKeyAndCsr } from '../../../src/agent/node-key.js';
import { testPki } from './test-pki.js';

for (const alg of ['ec', 'rsa'] as const) {
  test(`a ${alg} cluster CA issues node and server certificates that verify`, { timeout: 30_000 }, async () => {
    const pki = await testPki(alg);
    const ca = new X509Certificate(pki.caPem);
    const { csrPem } = await nodeKeyAndCsr('pi-1.lan');
    const node = new X509Certificate(await pki.issueNodeCertificate(csrPem, 'pi-1.lan'));
    assert.ok(node.verify(ca.publicKey));
    assert.match(node.subject, /CN=system:node:pi-1\.lan/);
    assert.match(node.subject, /O=system:nodes/);
    const server = await pki.issueServerCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
    const s = new X509Certificate(server.certPem);
    assert.ok(s.verify(ca.publicKey));
    assert.ok(s.checkIP('127.0.0.1'));
    assert.ok(s.checkHost('localhost'));
    assert.match(pki.caCertHash, /^sha256:[0-9a-f]{64}$/);
    // The pin matches what kubeadm's documented openssl pipeline prints.
    const spkiDer = execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: pki.caPem });
    const viaOpenssl = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: spkiDer });
    const { createHash } = await import('node:crypto');
    assert.equal(pki.caCertHash, `sha256:${createHash('sha256').update(viaOpenssl).digest('hex')}`);
  });
}

test('a CSR whose signature does not verify is refused', { timeout: 30_000 }, async () => {
  const pki = await testPki();
  const { csrPem } = await nodeKeyAndCsr('n1');
  const body = csrPem.split('\n').slice(1, -2).join('');
  const raw = Buffer.from(body, 'base64');
  raw[raw.length - 5] ^= 0xff;
  const broken = `-----BEGIN CERTIFICATE REQUEST-----\n${raw.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(pki.issueNodeCertificate(broken, 'n1'));
});
