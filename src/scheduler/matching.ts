import type { NodeSelectorRequirement, NodeSelectorTerm } from '../api/types.js';

// Node selector terms against nodes, with the semantics of component-helpers' nodeaffinity;
// tolerations against taints live in api/tolerations.ts, shared with the taint eviction controller.

export interface NodeFacts {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** Terms are ORed; a term with no requirements matches nothing. */
export function matchesAnyTerm(terms: readonly NodeSelectorTerm[], node: NodeFacts): boolean {
  for (const term of terms) if (matchesTerm(term, node)) return true;
  return false;
}

/** The requirements of one term are ANDed. */
export function matchesTerm(term: NodeSelectorTerm, node: NodeFacts): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!requirementMatches(r, node.labels)) return false;
  // metadata.name is the only field Kubernetes supports here.
  for (const r of fields) if (r.key !== 'metadata.name' || !requirementMatches(r, { 'metadata.name': node.name })) return false;
  return true;
}

function requirementMatches(r: NodeSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : '';
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.includes(value);
    case 'NotIn':
      return !has || !values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1 || !/^-?[0-9]+$/.test(value) || !/^-?[0-9]+$/.test(values[0])) return false;
      const n = Number(value);
      const bound = Number(values[0]);
      return r.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

export function matchesNodeSelector(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}
