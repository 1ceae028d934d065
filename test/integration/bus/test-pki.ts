import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsPlanePki } from '../../../src/server/nats-pki.js';
import type { NatsPlanePki } from '../../../src/server/nats-plane.js';

// A throwaway cluster CA made with the openssl tool (independent of the code under test);
// certificates are then issued by the control plane's real code (src/server/nats-pki.ts).

export function makeCa(keyAlgorithm: 'ec' | 'rsa' = 'ec'): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-test-ca-'));
  try {
    const keyArgs = keyAlgorithm === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
    execFileSync(
      'openssl',
      ['req', '-x509', ...keyArgs, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=skiff-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      { cwd: dir, stdio: 'ignore' },
    );
    return { certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function testPki(keyAlgorithm: 'ec' | 'rsa' = 'ec'): Promise<NatsPlanePki> {
  return natsPlanePki(makeCa(keyAlgorithm));
}
