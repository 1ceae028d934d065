import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Io } from './io.js';
import type { VersionInfo } from './rest-client.js';

// `ctl version`: this client's version (from package.json) and the server's (GET /version).

function packageVersion(): string {
  // Walk up from this file: it runs both from src/ (tests) and from dist/src/ (the build).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'skiff' && pkg.version) return pkg.version;
    } catch {
      // no package.json at this level
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

export function clientVersion(): VersionInfo {
  const v = packageVersion();
  const [major, minor] = v.split('.');
  return { major, minor, gitVersion: `v${v}`, platform: `${process.platform}/${process.arch}`, nodeVersion: process.version };
}

/** `serverVersion` is left out for `--client`. */
export async function runVersion(
  serverVersion: (() => Promise<VersionInfo>) | undefined,
  io: Io,
  opts: { output?: 'json' | 'yaml' },
): Promise<number> {
  const cv = clientVersion();
  let sv: VersionInfo | undefined;
  let failure: unknown;
  if (serverVersion) {
    try {
      sv = await serverVersion();
    } catch (e) {
      failure = e;
    }
  }
  if (opts.output) {
    const doc = { clientVersion: cv, ...(sv ? { serverVersion: sv } : {}) };
    io.out(opts.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
  } else {
    io.out(`Client Version: ${cv.gitVersion}\n`);
    if (sv) io.out(`Server Version: ${sv.gitVersion ?? `${sv.major}.${sv.minor}`}\n`);
  }
  if (failure) throw failure;
  return 0;
}
