import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod } from '../../api/types.js';

// The pods this node was last told to run, on local disk: after a restart the agent runs and
// restarts them with no control plane, and knows which running containers are its own.

export const podStatePath = (dataDir: string) => join(dataDir, 'state', 'pods.json');

export async function loadDesiredPods(dataDir: string): Promise<Pod[] | undefined> {
  const path = podStatePath(dataDir);
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { pods?: Pod[] };
  return Array.isArray(parsed.pods) ? parsed.pods : [];
}

/** Written to a new file and renamed over the old, so a crash leaves one or the other whole. */
export async function saveDesiredPods(dataDir: string, pods: Pod[]): Promise<void> {
  const path = podStatePath(dataDir);
  await mkdir(join(dataDir, 'state'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.new`;
  await writeFile(tmp, JSON.stringify({ pods }), { mode: 0o600 });
  await rename(tmp, path);
}
