import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { caCertHash } from '../bus/ca-hash.js';
import type { NatsPlanePki } from './nats-plane.js';

// The certificates the NATS plane needs, signed by the cluster CA: nats-server's TLS
// certificate and node client certificates from the nodes' CSRs. Built from the CA's PEM files
// alone, so it works with whatever key type the cluster CA has (ECDSA or RSA).

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type Key = webcrypto.CryptoKey;

const leafAlg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const nodeCertDays = 365;
const serverCertDays = 365;

function signingAlgorithm(keyPem: string): RsaHashedImportParams | EcKeyImportParams {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!namedCurve) throw new Error(`the cluster CA key uses curve ${curve}, which cannot sign here; use P-256, P-384 or P-521`);
    return { name: 'ECDSA', namedCurve, hash: namedCurve === 'P-256' ? 'SHA-256' : namedCurve === 'P-384' ? 'SHA-384' : 'SHA-512' } as EcKeyImportParams;
  }
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  throw new Error(`the cluster CA key is ${key.asymmetricKeyType}; only ECDSA and RSA CA keys can sign NATS certificates`);
}

type RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5'; hash: string };
type EcKeyImportParams = { name: 'ECDSA'; namedCurve: string; hash: string };

function pem(label: string, der: ArrayBuffer): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

const serial = () => `01${Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex')}`;

export async function natsPlanePki(ca: { certPem: string; keyPem: string }): Promise<NatsPlanePki> {
  const alg = signingAlgorithm(ca.keyPem);
  const der = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
  const caKey = (await webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign'])) as unknown as Key;
  const caCert = new x509.X509Certificate(ca.certPem);
  const issue = (subject: string, publicKey: x509.PublicKey | Key, days: number, extensions: x509.Extension[]) =>
    x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: caCert.subject,
      notBefore: new Date(Date.now() - 5 * 60_000),
      notAfter: new Date(Date.now() + days * 86_400_000),
      signingAlgorithm: alg,
      publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        ...extensions,
      ],
    });
  return {
    caPem: ca.certPem,
    caCertHash: caCertHash(ca.certPem),
    async issueServerCertificate({ dnsNames, ipAddresses }) {
      const keys = (await webcrypto.subtle.generateKey(leafAlg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const cert = await issue('CN=skiff-nats', keys.publicKey as unknown as Key, serverCertDays, [
        new x509.SubjectAlternativeNameExtension([...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ipAddresses.map((value) => ({ type: 'ip' as const, value }))]),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ]);
      return { certPem: cert.toString('pem'), keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
    },
    async issueNodeCertificate(csrPem, nodeName) {
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      if (!(await csr.verify())) throw new Error('the CSR signature does not verify against its own public key');
      // The subject is set here, never taken from the CSR: a node cannot ask for another name.
      const cert = await issue(`CN=system:node:${nodeName}, O=system:nodes`, csr.publicKey, nodeCertDays, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])]);
      return cert.toString('pem');
    },
  };
}
