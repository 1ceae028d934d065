import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { CertificateAuthority, defaultServerSans } from '../../../src/pki/cluster-pki.js';

test('a new CA signs server and client certificates that chain to it', { timeout: 10_000 }, async () => {
  const ca = await CertificateAuthority.create();
  const caCert = new X509Certificate(ca.certPem);
  assert.equal(caCert.ca, true);
  assert.ok(Date.parse(caCert.validTo) - Date.now() > 9 * 365 * 86_400_000, 'the CA lasts about ten years');

  const server = await ca.issueServer({ dnsNames: ['localhost', 'pi-1'], ipAddresses: ['127.0.0.1', '::1', '10.0.0.7'] });
  const sc = new X509Certificate(server.certPem);
  assert.ok(sc.checkIssued(caCert) && sc.verify(caCert.publicKey));
  assert.equal(sc.ca, false);
  assert.match(sc.subjectAltName ?? '', /DNS:pi-1/);
  assert.match(sc.subjectAltName ?? '', /IP Address:10\.0\.0\.7/);
  assert.ok(sc.checkIP('127.0.0.1'));

  const admin = await ca.issueClient('admin', ['system:masters']);
  const ac = new X509Certificate(admin.certPem);
  assert.ok(ac.verify(caCert.publicKey));
  assert.match(ac.subject, /CN=admin/);
  assert.match(ac.subject, /O=system:masters/);
});

test('a CA loaded from its PEM files signs like the one that made them', { timeout: 10_000 }, async () => {
  const made = await CertificateAuthority.create();
  const loaded = await CertificateAuthority.load({ certPem: made.certPem, keyPem: made.keyPem });
  const c = new X509Certificate((await loaded.issueClient('alice')).certPem);
  assert.ok(c.verify(new X509Certificate(made.certPem).publicKey));
});

test('the default serving names include loopback, the host name and extra names split by kind', { timeout: 5_000 }, () => {
  const sans = defaultServerSans(['api.example.com', '192.0.2.10']);
  assert.ok(sans.dnsNames.includes('localhost'));
  assert.ok(sans.dnsNames.includes('api.example.com'));
  assert.ok(sans.ipAddresses.includes('127.0.0.1'));
  assert.ok(sans.ipAddresses.includes('::1'));
  assert.ok(sans.ipAddresses.includes('192.0.2.10'));
  assert.ok(!sans.dnsNames.includes('192.0.2.10'));
});

test('link-local IPv6 addresses (one per pod veth) are not serving names', { timeout: 5_000 }, () => {
  const sans = defaultServerSans();
  assert.ok(sans.ipAddresses.every((ip) => !/^fe[89ab]/i.test(ip)), sans.ipAddresses.join(', '));
});
