import type { TLSSocket } from 'node:tls';

// Authentication by client certificate, as Kubernetes does it: a certificate that chains to
// the cluster CA names the user (CN) and its groups (each O). The TLS layer verifies the chain
// (requestCert with the CA as the only trust anchor); this only reads the verified result.

export interface UserInfo {
  name: string;
  groups: string[];
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A connection's certificate cannot change, and reading it builds a new object each time: once per socket. */
const usersBySocket = new WeakMap<TLSSocket, UserInfo | undefined>();

/** The user a verified client certificate names, or undefined when there is none or it did not verify. */
export function userFromSocket(socket: TLSSocket): UserInfo | undefined {
  if (usersBySocket.has(socket)) return usersBySocket.get(socket);
  const user = readUser(socket);
  usersBySocket.set(socket, user);
  return user;
}

function readUser(socket: TLSSocket): UserInfo | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const name = asList(cert.subject.CN)[0];
  if (!name) return undefined;
  return { name, groups: [...asList(cert.subject.O), 'system:authenticated'] };
}

/** Why a client was refused, for the log (the client itself only hears 401). */
export function refusalReason(socket: TLSSocket): string {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return 'no client certificate';
  return `client certificate refused: ${String(socket.authorizationError ?? 'no common name')}`;
}
