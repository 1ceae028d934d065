import { createPrivateKey, createPublicKey, X509Certificate as NodeX509 } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type IssueCertificateOptions, type IssuedCertificate } from './certificates.js';
import { importSigningKey } from './crypto.js';

// The cluster's PKI: one CA (made on first start, kept for ten years), the API server's serving
// certificate and the admin client certificate, all ECDSA P-256. Files live in one directory
// (0700), keys and certificates 0600. Later starts reuse everything; the serving certificate is
// re-issued when this machine gained a name or address it does not cover, or it nears expiry.

const day = 86_400_000;
const caDays = 3650;
const leafDays = 365;
/** A leaf certificate this close to expiry is re-issued at start. */
const renewBeforeMs = 30 * day;

export const pkiFiles = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'apiserver.crt',
  serverKey: 'apiserver.key',
  adminCert: 'admin.crt',
  adminKey: 'admin.key',
} as const;

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export interface ClusterPki {
  dir: string;
  ca: CertAndKey;
  /** The API server's TLS certificate. */
  server: CertAndKey;
  /** CN=admin, O=system:masters: what admin.kubeconfig carries. */
  admin: CertAndKey;
  caCertFile: string;
  caKeyFile: string;
  /** The names and addresses the serving certificate covers. */
  serverSans: { dnsNames: string[]; ipAddresses: string[] };
}

export interface ClusterPkiOptions {
  /** More DNS names or IP addresses for the serving certificate (an advertise address, a VIP). */
  extraSans?: string[];
}

const isIp = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || s.includes(':');

async function writePrivate(path: string, text: string): Promise<void> {
  // Written aside and renamed, so a crash never leaves half a key behind.
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Every name and address a client may use to reach this machine. */
export function defaultServerSans(extra: string[] = []): { dnsNames: string[]; ipAddresses: string[] } {
  const ips = Object.values(os.networkInterfaces())
    .flatMap((l) => l ?? [])
    // Link-local IPv6 addresses are left out: nobody dials them without a zone, and every pod's
    // veth brings a new one, which would re-issue the certificate at each start.
    .filter((a) => !a.internal && !(a.family === 'IPv6' && /^fe[89ab]/i.test(a.address)))
    .map((a) => a.address);
  const all = ['localhost', os.hostname(), '127.0.0.1', '::1', ...ips, ...extra].filter((s) => s !== '');
  return {
    dnsNames: [...new Set(all.filter((s) => !isIp(s)))],
    ipAddresses: [...new Set(all.filter(isIp))],
  };
}

/** A CA held as PEM; every certificate it issues goes through issueCertificate. */
export class CertificateAuthority {
  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
  ) {}

  /** Fails here, not at the first signature, when the key cannot sign. */
  static async load(ca: CertAndKey): Promise<CertificateAuthority> {
    await importSigningKey(ca.keyPem);
    return new CertificateAuthority(ca.certPem, ca.keyPem);
  }

  static async create(commonName = 'skiff-ca'): Promise<CertificateAuthority> {
    const ca = await createCertificateAuthority({ commonName, validityDays: caDays });
    return new CertificateAuthority(ca.certPem, ca.keyPem);
  }

  /** Any leaf: for a key made elsewhere pass csrPem or publicKeyPem; the subject is always the caller's. */
  issue(opts: Omit<IssueCertificateOptions, 'ca'>): Promise<IssuedCertificate> {
    return issueCertificate({ validityDays: leafDays, ...opts, ca: this });
  }

  async issueServer(sans: { dnsNames: string[]; ipAddresses: string[] }, commonName = 'skiff-apiserver'): Promise<CertAndKey> {
    const made = await this.issue({ commonName, dnsNames: sans.dnsNames, ips: sans.ipAddresses, usages: ['server'] });
    return { certPem: made.certPem, keyPem: made.keyPem! };
  }

  /** A client certificate: CN is the user, each O a group (Kubernetes' convention). */
  async issueClient(user: string, groups: string[] = []): Promise<CertAndKey> {
    const made = await this.issue({ commonName: user, organizations: groups, usages: ['client'] });
    return { certPem: made.certPem, keyPem: made.keyPem! };
  }
}

/** What a stored file holds, checked; a broken one is named with what to do about it. */
function parseCert(path: string, pem: string, fix: string): NodeX509 {
  try {
    return new NodeX509(pem);
  } catch (e) {
    throw new Error(`${path} is not a valid PEM certificate (${(e as Error).message}): ${fix}`, { cause: e });
  }
}

function checkKeyMatches(certPath: string, cert: NodeX509, keyPath: string, keyPem: string, fix: string): void {
  let spki: Buffer;
  try {
    spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  } catch (e) {
    throw new Error(`${keyPath} is not a valid PEM private key (${(e as Error).message}): ${fix}`, { cause: e });
  }
  if (!spki.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new Error(`${keyPath} is not the private key of ${certPath}: ${fix}`);
  }
}

function sansOf(cert: NodeX509): Set<string> {
  return new Set(
    (cert.subjectAltName ?? '')
      .split(/,\s*/)
      .map((s) => s.replace(/^(DNS|IP Address):/, '').toLowerCase())
      .filter(Boolean)
      .map(normalizeIp),
  );
}

/** Node prints IPv6 SANs in full form; compare in one form. */
function normalizeIp(s: string): string {
  if (!s.includes(':')) return s;
  try {
    return new URL(`http://[${s}]/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return s;
  }
}

/** Whether a stored leaf certificate can be kept: signed by this CA, not near expiry, names covered. */
function leafUsable(cert: NodeX509, ca: NodeX509, wantedSans?: string[]): boolean {
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  if (Date.parse(cert.validTo) - Date.now() < renewBeforeMs) return false;
  if (wantedSans) {
    const have = sansOf(cert);
    if (!wantedSans.every((s) => have.has(normalizeIp(s.toLowerCase())))) return false;
  }
  return true;
}

/**
 * Makes the cluster PKI in `dir` on first start and reuses it after. A corrupt or mismatched
 * CA stops startup with the file named: a new CA would cut off every node and client.
 */
export async function ensureClusterPki(dir: string, opts: ClusterPkiOptions = {}): Promise<ClusterPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = (f: string) => join(dir, f);
  const caCertFile = path(pkiFiles.caCert);
  const caKeyFile = path(pkiFiles.caKey);

  const caFix = `restore ${pkiFiles.caCert} and ${pkiFiles.caKey} from a backup, or remove both to make a new cluster CA (every node must then join again and every kubeconfig be replaced)`;
  const [caCertText, caKeyText] = [await readOptional(caCertFile), await readOptional(caKeyFile)];
  let ca: CertificateAuthority;
  if (caCertText === undefined && caKeyText === undefined) {
    ca = await CertificateAuthority.create();
    await writePrivate(caKeyFile, ca.keyPem);
    await writePrivate(caCertFile, ca.certPem);
  } else if (caCertText === undefined || caKeyText === undefined) {
    throw new Error(`${caCertText === undefined ? caCertFile : caKeyFile} is missing while its pair exists: ${caFix}`);
  } else {
    const cert = parseCert(caCertFile, caCertText, caFix);
    checkKeyMatches(caCertFile, cert, caKeyFile, caKeyText, caFix);
    if (!cert.ca) throw new Error(`${caCertFile} is not a CA certificate: ${caFix}`);
    ca = await CertificateAuthority.load({ certPem: caCertText, keyPem: caKeyText });
  }
  const caCert = new NodeX509(ca.certPem);

  const sans = defaultServerSans(opts.extraSans);
  const leaf = async (certName: string, keyName: string, wanted: string[] | undefined, issue: () => Promise<CertAndKey>): Promise<CertAndKey> => {
    const certFile = path(certName);
    const keyFile = path(keyName);
    const fix = `remove ${certFile} and ${keyFile}; the next start issues new ones from the cluster CA`;
    const [certPem, keyPem] = [await readOptional(certFile), await readOptional(keyFile)];
    if (certPem !== undefined && keyPem !== undefined) {
      const cert = parseCert(certFile, certPem, fix);
      checkKeyMatches(certFile, cert, keyFile, keyPem, fix);
      if (leafUsable(cert, caCert, wanted)) return { certPem, keyPem };
    }
    const made = await issue();
    await writePrivate(keyFile, made.keyPem);
    await writePrivate(certFile, made.certPem);
    return made;
  };

  const server = await leaf(pkiFiles.serverCert, pkiFiles.serverKey, [...sans.dnsNames, ...sans.ipAddresses], () => ca.issueServer(sans));
  const admin = await leaf(pkiFiles.adminCert, pkiFiles.adminKey, undefined, () => ca.issueClient('admin', ['system:masters']));
  const serverSans = { dnsNames: [...sansOf(new NodeX509(server.certPem))].filter((s) => !isIp(s)), ipAddresses: [...sansOf(new NodeX509(server.certPem))].filter(isIp) };
  return {
    dir,
    ca: { certPem: ca.certPem, keyPem: ca.keyPem },
    server,
    admin,
    caCertFile,
    caKeyFile,
    serverSans,
  };
}
