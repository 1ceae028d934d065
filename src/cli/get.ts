import { isApiError } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { CliError, formatApiError } from './errors.js';
import type { Io } from './io.js';
import { qualifiedKind, type ResourceTarget } from './kinds.js';
import { tableHeader, tableRow, type TableOptions } from './printers/columns.js';
import { formatJson, formatNames, formatYaml, type OutputFormat } from './printers/output.js';
import { columnWidths, renderTable } from './printers/table.js';
import { reflect } from './reflector.js';
import type { RestClient } from './rest-client.js';

// `ctl get`: fetch by name or list by selector, print in the chosen format, and with `-w` keep
// printing a line per change.

export interface GetOptions {
  namespace: string;
  allNamespaces: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  output: OutputFormat;
  noHeaders: boolean;
  showLabels: boolean;
}

interface Fetched {
  info: ResourceInfo;
  objects: KObject[];
}

function listNamespace(info: ResourceInfo, opts: GetOptions): string | undefined {
  return info.namespaced && !opts.allNamespaces ? opts.namespace : undefined;
}

function tableOptions(info: ResourceInfo, opts: GetOptions): TableOptions {
  return { wide: opts.output === 'wide', withNamespace: info.namespaced && opts.allNamespaces, showLabels: opts.showLabels };
}

/** Returns the exit code: 1 when some named object was missing. */
export async function runGet(client: RestClient, io: Io, targets: ResourceTarget[], opts: GetOptions): Promise<number> {
  let failed = false;
  const fetched: Fetched[] = [];
  for (const t of targets) {
    if (t.names.length === 0) {
      const list = await client.list(t.info, {
        namespace: listNamespace(t.info, opts),
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      });
      fetched.push({ info: t.info, objects: list.items });
      continue;
    }
    const objects: KObject[] = [];
    for (const name of t.names) {
      try {
        objects.push(await client.get(t.info, t.info.namespaced ? opts.namespace : '', name));
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
        io.err(`${formatApiError(e)}\n`);
        failed = true;
      }
    }
    fetched.push({ info: t.info, objects });
  }

  const all = fetched.flatMap((f) => f.objects);
  const named = targets.some((t) => t.names.length > 0);
  if (all.length === 0 && !named) {
    const scoped = targets.every((t) => t.info.namespaced) && !opts.allNamespaces;
    io.err(scoped ? `No resources found in ${opts.namespace} namespace.\n` : 'No resources found\n');
    return 0;
  }
  const single = targets.length === 1 && targets[0].names.length === 1;
  switch (opts.output) {
    case 'json':
      if (all.length) io.out(formatJson(all, single));
      break;
    case 'yaml':
      if (all.length) io.out(formatYaml(all, single));
      break;
    case 'name':
      io.out(formatNames(all));
      break;
    default: {
      const tables = fetched.filter((f) => f.objects.length > 0);
      const prefixKind = tables.length > 1;
      tables.forEach((f, i) => {
        const topts = tableOptions(f.info, opts);
        const rows = f.objects.map((o) => tableRow(o, topts));
        if (prefixKind) {
          const nameCol = topts.withNamespace ? 1 : 0;
          if (f.info.kind !== 'Event') for (const r of rows) r[nameCol] = `${qualifiedKind(f.info)}/${r[nameCol]}`;
        }
        io.out(`${i > 0 ? '\n' : ''}${renderTable(opts.noHeaders ? undefined : tableHeader(f.info.kind, topts), rows)}\n`);
      });
    }
  }
  return failed ? 1 : 0;
}

/**
 * `get -w`: the current objects (unless `watchOnly`), then one line per change until `signal`
 * aborts. Survives dropped connections and expired versions through the reflector.
 */
export async function runGetWatch(
  client: RestClient,
  io: Io,
  target: ResourceTarget,
  opts: GetOptions & { watchOnly: boolean },
  signal: AbortSignal,
): Promise<number> {
  if (target.names.length > 1) throw new CliError('watch is only supported on a single resource name; use a label selector to watch several');
  const fieldSelector = [opts.fieldSelector, target.names.length ? `metadata.name=${target.names[0]}` : undefined].filter(Boolean).join(',');
  const topts = tableOptions(target.info, opts);
  const header = opts.noHeaders ? undefined : tableHeader(target.info.kind, topts);
  let widths: number[] | undefined;
  let warned = false;

  const print = (objs: KObject[]) => {
    if (objs.length === 0) return;
    switch (opts.output) {
      case 'json':
        for (const o of objs) io.out(formatJson([o], true));
        return;
      case 'yaml':
        for (const o of objs) io.out(`---\n${formatYaml([o], true)}`);
        return;
      case 'name':
        io.out(formatNames(objs));
        return;
      default: {
        const rows = objs.map((o) => tableRow(o, topts));
        const first = widths === undefined;
        const withHeader = first ? header : undefined;
        io.out(`${renderTable(withHeader, rows, widths)}\n`);
        const now = columnWidths(withHeader, rows);
        widths = widths ? widths.map((w, i) => Math.max(w, now[i] ?? 0)) : now;
      }
    }
  };

  const events = reflect(
    client,
    target.info,
    {
      namespace: listNamespace(target.info, opts),
      labelSelector: opts.labelSelector,
      fieldSelector: fieldSelector || undefined,
      onRetry: (e) => {
        if (!warned) io.err(`warning: lost the watch (${(e as Error).message}); retrying\n`);
        warned = true;
      },
      onRecovered: () => {
        warned = false;
      },
    },
    signal,
  );
  for await (const ev of events) {
    if (ev.type === 'LIST') {
      if (!opts.watchOnly) print(ev.items);
    } else {
      print([ev.object]);
    }
  }
  return 0;
}
