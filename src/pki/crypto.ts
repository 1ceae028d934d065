// @peculiar/x509 needs reflect-metadata loaded before it (it builds certificate requests with decorators).
import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// The crypto plumbing the PKI shares: @peculiar/x509 on Node's webcrypto, ECDSA P-256 keys
// (cheap to make and verify on a Raspberry Pi), PEM encoding, and importing signing keys of
// whatever type an existing CA has.

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** The algorithm of every key Skiff makes. */
export const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export type SigningAlgorithm = { name: 'ECDSA'; namedCurve: string; hash: string } | { name: 'RSASSA-PKCS1-v1_5'; hash: string };

function pemEncode(label: string, der: ArrayBuffer | Uint8Array): string {
  const lines = Buffer.from(der as ArrayBuffer).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PKCS#8 PEM (`BEGIN PRIVATE KEY`), what Node, Go and openssl all read. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return pemEncode('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

const curveNames: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/** The signature algorithm a private key signs with: ECDSA with its curve's hash, or RSA PKCS#1 v1.5 with SHA-256. */
function signingAlgorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ec') {
    const curve = curveNames[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new Error(`the key uses curve ${key.asymmetricKeyDetails?.namedCurve}; only P-256, P-384 and P-521 can sign here`);
    return { name: 'ECDSA', ...curve };
  }
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  throw new Error(`the key is ${key.asymmetricKeyType}; only ECDSA and RSA keys can sign certificates here`);
}

/** Imports a PEM private key (PKCS#8, SEC1 or PKCS#1, as openssl writes them) for signing. */
export async function importSigningKey(keyPem: string): Promise<{ key: CryptoKey; algorithm: SigningAlgorithm }> {
  const keyObject = createPrivateKey(keyPem);
  const algorithm = signingAlgorithmOf(keyObject);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const key = (await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign'])) as CryptoKey;
  return { key, algorithm };
}

/** A random positive 128-bit serial number, as hex (RFC 5280 allows up to 20 octets). */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return Buffer.from(bytes).toString('hex');
}
