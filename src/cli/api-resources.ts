import { apiVersionOf, resources, type ResourceInfo } from '../api/resources.js';
import { renderTable } from './printers/table.js';

// `ctl api-resources`: the kinds this build serves, from the same table the server routes and
// discovery are built from, so client and server cannot disagree within one build.

export interface ApiResourcesOptions {
  /** true / false keeps only namespaced / cluster-scoped kinds. */
  namespaced?: boolean;
  output?: 'wide' | 'name';
  noHeaders?: boolean;
  apiGroup?: string;
}

export function formatApiResources(opts: ApiResourcesOptions): string {
  const rows = resources
    .filter((r) => opts.namespaced === undefined || r.namespaced === opts.namespaced)
    .filter((r) => opts.apiGroup === undefined || r.group === opts.apiGroup)
    .slice()
    .sort((a, b) => a.group.localeCompare(b.group) || a.plural.localeCompare(b.plural));
  if (opts.output === 'name') return rows.map((r) => `${r.plural}${r.group ? `.${r.group}` : ''}\n`).join('');
  const header = ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND', ...(opts.output === 'wide' ? ['VERBS'] : [])];
  const cells = (r: ResourceInfo) => [
    r.plural,
    r.shortNames.join(','),
    apiVersionOf(r),
    String(r.namespaced),
    r.kind,
    ...(opts.output === 'wide' ? [`[${r.verbs.join(' ')}]`] : []),
  ];
  return `${renderTable(opts.noHeaders ? undefined : header, rows.map(cells))}\n`;
}
