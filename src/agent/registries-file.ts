import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { registriesSchema, type Registries } from '../cri/registries.js';

// The node's registries.yaml (k3s's format and default place, under /etc/skiff): read at every
// agent start, as k3s does, so editing it and restarting the agent applies it.

export const DEFAULT_REGISTRIES_FILE = '/etc/skiff/registries.yaml';

/** The file's settings; undefined when the default file is absent. Throws naming the file and field. */
export function loadRegistries(path: string | undefined): Registries | undefined {
  const file = path ?? DEFAULT_REGISTRIES_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && path === undefined) return undefined;
    throw new Error(`cannot read the registries file ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (e) {
    throw new Error(`${file} is not valid YAML: ${(e as Error).message}`);
  }
  const parsed = registriesSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new Error(`${file} is not a valid registries file (mirrors/configs as in k3s's registries.yaml):\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
