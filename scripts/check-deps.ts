// Enforces the module layout of DESIGN.md: imports between src/ modules only point inward,
// nothing imports cmd/, and no import cycle exists between files. Exits 1 with every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

/** Which src/ modules each module may import (besides itself). */
const allowed: Record<string, string[]> = {
  api: [],
  log: [],
  store: ['api', 'log'],
  pki: ['api', 'log'],
  bus: ['api', 'log'],
  cri: ['api', 'log'],
  metrics: ['api', 'log'],
  scheduler: ['api', 'log', 'store', 'metrics'],
  controllers: ['api', 'log', 'store', 'metrics'],
  server: ['api', 'log', 'store', 'scheduler', 'controllers', 'bus', 'pki', 'metrics'],
  agent: ['api', 'log', 'cri', 'bus', 'pki', 'metrics'],
  cli: ['api', 'log'],
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const importRe = /(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('.')) out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

const moduleOf = (file: string): string | undefined => {
  const rel = relative(join(root, 'src'), file);
  return rel.startsWith('..') ? undefined : rel.split('/')[0].replace(/\.ts$/, '');
};

const files = [...walk(join(root, 'src')), ...walk(join(root, 'cmd'))];
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const problems: string[] = [];

for (const [file, deps] of graph) {
  const from = moduleOf(file);
  for (const dep of deps) {
    const rel = relative(root, dep);
    if (rel.startsWith('cmd/') && !relative(root, file).startsWith('cmd/')) {
      problems.push(`${relative(root, file)} imports ${rel}: nothing outside cmd/ may import cmd/`);
    }
    const to = moduleOf(dep);
    if (from === undefined || to === undefined || from === to) continue;
    if (!(from in allowed)) problems.push(`${relative(root, file)}: src/${from} is not a module in the layout`);
    else if (!allowed[from].includes(to)) {
      problems.push(`${relative(root, file)} imports ${rel}: src/${from} may import only ${allowed[from].join(', ') || 'nothing'}`);
    }
  }
}

// Cycles between files: depth-first search, reporting each cycle once by its path.
const state = new Map<string, 'visiting' | 'done'>();
const stack: string[] = [];
function visit(file: string): void {
  state.set(file, 'visiting');
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === 'visiting') {
      const cycle = stack.slice(stack.indexOf(dep)).concat(dep).map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(' -> ')}`);
    } else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const f of graph.keys()) if (!state.has(f)) visit(f);

if (problems.length) {
  process.stderr.write(`module layout violations:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stderr.write(`module layout ok: ${files.length} files, no cycles, imports point inward\n`);
