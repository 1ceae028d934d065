import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { ensureClusterPki } from '../../../src/pki/cluster-pki.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempPkiDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
  dirs.push(d);
  return join(d, 'pki');
}

test('first start makes the CA, serving and admin certificates with private modes; the next reuses them', { timeout: 20_000 }, async () => {
  const dir = tempPkiDir();
  const first = await ensureClusterPki(dir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', 'admin.crt', 'admin.key']) {
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  }
  const server = new X509Certificate(first.server.certPem);
  assert.ok(server.checkHost('localhost'));
  assert.ok(server.checkIP('127.0.0.1'));
  assert.match(new X509Certificate(first.admin.certPem).subject, /O=system:masters/);

  const second = await ensureClusterPki(dir);
  assert.equal(second.ca.certPem, first.ca.certPem);
  assert.equal(second.server.certPem, first.server.certPem);
  assert.equal(second.admin.certPem, first.admin.certPem);
});

test('a missing SAN re-issues the serving certificate from the same CA', { timeout: 20_000 }, async () => {
  const dir = tempPkiDir();
  const first = await ensureClusterPki(dir);
  const second = await ensureClusterPki(dir, { extraSans: ['api.example.com', '192.0.2.44'] });
  assert.equal(second.ca.certPem, first.ca.certPem);
  assert.notEqual(second.server.certPem, first.server.certPem);
  const cert = new X509Certificate(readFileSync(join(dir, 'apiserver.crt'), 'utf8'));
  assert.ok(cert.checkHost('api.example.com'));
  assert.ok(cert.checkIP('192.0.2.44'));
  assert.ok(cert.verify(new X509Certificate(first.ca.certPem).publicKey));
});

test('a corrupt CA file stops startup naming the file and what to do', { timeout: 20_000 }, async () => {
  const dir = tempPkiDir();
  await ensureClusterPki(dir);
  writeFileSync(join(dir, 'ca.crt'), 'not a certificate');
  await assert.rejects(ensureClusterPki(dir), (e: Error) => {
    assert.ok(e.message.includes(join(dir, 'ca.crt')), e.message);
    assert.match(e.message, /restore .* from a backup/);
    return true;
  });
});

test('a CA key that does not match the certificate is refused', { timeout: 20_000 }, async () => {
  const a = tempPkiDir();
  const b = tempPkiDir();
  await ensureClusterPki(a);
  await ensureClusterPki(b);
  writeFileSync(join(a, 'ca.key'), readFileSync(join(b, 'ca.key')));
  await assert.rejects(ensureClusterPki(a), /ca\.key is not the private key of .*ca\.crt/);
});

test('a corrupt admin certificate names the file and says a restart re-issues it once removed', { timeout: 20_000 }, async () => {
  const dir = tempPkiDir();
  await ensureClusterPki(dir);
  writeFileSync(join(dir, 'admin.crt'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  await assert.rejects(ensureClusterPki(dir), /admin\.crt is not a valid PEM certificate.*remove/);
});
