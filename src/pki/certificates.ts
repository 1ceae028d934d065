import { isIP } from 'node:net';
import { generateKeyPair, importSigningKey, keyAlgorithm, privateKeyPem, randomSerial, x509, type CryptoKey } from './crypto.js';

// Certificates signed by the cluster CA: the CA itself, serving and client certificates for
// fresh key pairs, and certificates for keys that stay on another machine (a PEM CSR whose
// signature is checked, or a bare public key).

/** A CA certificate and its private key, both PEM (ECDSA or RSA). */
export interface CaPem {
  certPem: string;
  keyPem: string;
}

export type CertificateUsage = 'server' | 'client';

export interface IssueCertificateOptions {
  ca: CaPem;
  commonName: string;
  /** Subject O values; Kubernetes reads them as the user's groups. */
  organizations?: string[];
  dnsNames?: string[];
  ips?: string[];
  /** Sign this PEM CSR (its signature is verified; its subject is ignored: the caller sets the subject). */
  csrPem?: string;
  /** Sign this PEM public key (SubjectPublicKeyInfo). Without csrPem or publicKeyPem a new key pair is made. */
  publicKeyPem?: string;
  usages: CertificateUsage[];
  /** Default 365. */
  validityDays?: number;
  now?: Date;
}

export interface IssuedCertificate {
  certPem: string;
  /** Only when the key pair was made here. */
  keyPem?: string;
}

const dayMs = 86_400_000;
/** Certificates start a little in the past so a node whose clock is slightly behind accepts them. */
const backdateMs = 5 * 60_000;

export class CertificateRequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateRequestError';
  }
}

function subjectName(commonName: string, organizations: string[] = []): x509.JsonName {
  return [{ CN: [commonName] }, ...organizations.map((o) => ({ O: [o] }))];
}

function subjectAltNames(dnsNames: string[], ips: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension([
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
  ]);
}

/** A self-signed ECDSA P-256 CA that can sign certificates (not other CAs). */
export async function createCertificateAuthority(opts: { commonName: string; validityDays: number; now?: Date }): Promise<CaPem> {
  const now = opts.now ?? new Date();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(opts.commonName),
    notBefore: new Date(now.getTime() - backdateMs),
    notAfter: new Date(now.getTime() + opts.validityDays * dayMs),
    signingAlgorithm: keyAlgorithm,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as x509.PublicKeyType),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function subjectPublicKey(opts: IssueCertificateOptions): Promise<{ publicKey: x509.PublicKeyType; privateKey?: CryptoKey }> {
  if (opts.csrPem !== undefined) {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(opts.csrPem);
    } catch (e) {
      throw new CertificateRequestError(`the certificate request is not a PEM CSR: ${(e as Error).message}`, { cause: e });
    }
    if (!(await csr.verify())) throw new CertificateRequestError('the certificate request signature does not verify against its own public key');
    return { publicKey: csr.publicKey };
  }
  if (opts.publicKeyPem !== undefined) {
    try {
      return { publicKey: new x509.PublicKey(opts.publicKeyPem) };
    } catch (e) {
      throw new CertificateRequestError(`the public key is not a PEM SubjectPublicKeyInfo: ${(e as Error).message}`, { cause: e });
    }
  }
  const keys = await generateKeyPair();
  return { publicKey: keys.publicKey as unknown as x509.PublicKeyType, privateKey: keys.privateKey };
}

/** Issues a leaf certificate signed by `ca`. */
export async function issueCertificate(opts: IssueCertificateOptions): Promise<IssuedCertificate> {
  const now = opts.now ?? new Date();
  const dnsNames = opts.dnsNames ?? [];
  const ips = opts.ips ?? [];
  const badIp = ips.find((ip) => isIP(ip) === 0);
  if (badIp !== undefined) throw new CertificateRequestError(`${JSON.stringify(badIp)} is not an IP address`);
  if (opts.usages.length === 0) throw new CertificateRequestError('a certificate needs at least one usage: server or client');

  const caCert = new x509.X509Certificate(opts.ca.certPem);
  const { key: signingKey, algorithm } = await importSigningKey(opts.ca.keyPem);
  const { publicKey, privateKey } = await subjectPublicKey(opts);

  const extendedUsages = opts.usages.map((u) => (u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth));
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // kubeadm's key usages for every leaf; Go and OpenSSL accept keyEncipherment on EC keys too.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (dnsNames.length || ips.length) extensions.push(subjectAltNames(dnsNames, ips));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(opts.commonName, opts.organizations),
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - backdateMs),
    notAfter: new Date(now.getTime() + (opts.validityDays ?? 365) * dayMs),
    signingAlgorithm: algorithm,
    publicKey,
    signingKey,
    extensions,
  });
  return { certPem: cert.toString('pem'), ...(privateKey ? { keyPem: await privateKeyPem(privateKey) } : {}) };
}
