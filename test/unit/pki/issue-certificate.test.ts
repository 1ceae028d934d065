import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { nodeKeyAndCsr } from '../../../src/agent/node-key.js';
import { CertificateRequestError, createCertificateAuthority, issueCertificate } from '../../../src/pki/certificates.js';

const t = { timeout: 10_000 };
const clientAuth = '1.3.6.1.5.5.7.3.2';
const serverAuth = '1.3.6.1.5.5.7.3.1';

test('a CSR made elsewhere is signed with the subject the caller sets, never the one it asks for', t, async () => {
  const ca = await createCertificateAuthority({ commonName: 'test-ca', validityDays: 30 });
  const { keyPem, csrPem } = await nodeKeyAndCsr('pi-1');
  const issued = await issueCertificate({ ca, csrPem, commonName: 'system:node:pi-2', organizations: ['system:nodes'], usages: ['client'] });
  assert.equal(issued.keyPem, undefined, 'the key stays with whoever made the CSR');
  const cert = new X509Certificate(issued.certPem);
  assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  assert.equal(cert.subject, 'CN=system:node:pi-2\nO=system:nodes');
  assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)));
  assert.deepEqual(cert.keyUsage, [clientAuth]);
});

test('a CSR whose signature does not verify is refused', t, async () => {
  const ca = await createCertificateAuthority({ commonName: 'test-ca', validityDays: 30 });
  const { csrPem } = await nodeKeyAndCsr('pi-1');
  const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
  // Another name in the signed part: the CSR still parses, but its signature no longer fits.
  const at = der.indexOf(Buffer.from('system:node:pi-1'));
  assert.ok(at > 0);
  der.write('system:node:pi-9', at);
  const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(issueCertificate({ ca, csrPem: forged, commonName: 'x', usages: ['client'] }), (e: Error) => e instanceof CertificateRequestError && /does not verify/.test(e.message));
  await assert.rejects(issueCertificate({ ca, csrPem: 'not a csr', commonName: 'x', usages: ['client'] }), /not a PEM CSR/);
});

test('a bare public key, SANs split by kind, both usages and the validity asked for', t, async () => {
  const ca = await createCertificateAuthority({ commonName: 'test-ca', validityDays: 30 });
  const { keyPem } = await nodeKeyAndCsr('unused');
  const publicKeyPem = createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString();
  const now = new Date('2030-01-01T00:00:00Z');
  const issued = await issueCertificate({
    ca,
    publicKeyPem,
    commonName: 'edge',
    dnsNames: ['edge.lan'],
    ips: ['10.0.0.9', 'fd00::9'],
    usages: ['server', 'client'],
    validityDays: 7,
    now,
  });
  const cert = new X509Certificate(issued.certPem);
  assert.ok(cert.checkHost('edge.lan'));
  assert.ok(cert.checkIP('10.0.0.9'));
  assert.ok(cert.checkIP('fd00::9'));
  assert.deepEqual([...(cert.keyUsage ?? [])].sort(), [serverAuth, clientAuth].sort());
  assert.equal(new Date(cert.validTo).getTime(), now.getTime() + 7 * 86_400_000);
  assert.equal(cert.ca, false);
});

test('without a CSR or key a fresh ECDSA P-256 pair is made and returned', t, async () => {
  const ca = await createCertificateAuthority({ commonName: 'test-ca', validityDays: 30 });
  const issued = await issueCertificate({ ca, commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
  assert.ok(issued.keyPem);
  const cert = new X509Certificate(issued.certPem);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)));
});

test('bad requests are named: a non-address in ips, no usage', t, async () => {
  const ca = await createCertificateAuthority({ commonName: 'test-ca', validityDays: 30 });
  await assert.rejects(issueCertificate({ ca, commonName: 'x', ips: ['pi.lan'], usages: ['server'] }), /"pi\.lan" is not an IP address/);
  await assert.rejects(issueCertificate({ ca, commonName: 'x', usages: [] }), /at least one usage/);
});

test('a new CA is self-signed, CA:TRUE, and valid for the days asked', t, async () => {
  const ca = await createCertificateAuthority({ commonName: 'skiff-ca', validityDays: 3650 });
  const cert = new X509Certificate(ca.certPem);
  assert.equal(cert.ca, true);
  assert.ok(cert.verify(cert.publicKey));
  assert.ok(new Date(cert.validTo).getTime() - Date.now() > 3649 * 86_400_000);
});
