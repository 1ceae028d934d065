import { createHash, X509Certificate } from 'node:crypto';

/** `sha256:<hex>` over the certificate's DER SubjectPublicKeyInfo: kubeadm's discovery hash, what joiners pin. */
export function caCertHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
