import { errors, type FieldError } from '../api/errors.js';
import type { BootstrapTokens, CreatedToken, TokenInfo } from './bootstrap-tokens.js';
import { tokenApiVersion } from './bootstrap-tokens.js';

// HTTP routes for bootstrap tokens: `ctl token create|list|delete` talk to these. They sit
// beside the generic resource routes because a token is shown once, at creation, and its
// stored form (the secret's hash) is never served.
//
//   POST   /apis/bootstrap.skiff.io/v1/tokens       {spec: {ttlSeconds?, description?}}
//   GET    /apis/bootstrap.skiff.io/v1/tokens
//   GET    /apis/bootstrap.skiff.io/v1/tokens/ID
//   DELETE /apis/bootstrap.skiff.io/v1/tokens/ID

export const tokenRoutePrefix = '/apis/bootstrap.skiff.io/v1/tokens';

export interface TokenApi {
  tokens: BootstrapTokens;
  joinCommand(token: string): string;
}

export interface RouteResult {
  status: number;
  body: unknown;
}

function tokenObject(t: TokenInfo | CreatedToken, joinCommand?: string) {
  return {
    apiVersion: tokenApiVersion,
    kind: 'BootstrapToken',
    metadata: { name: t.id, creationTimestamp: t.created },
    spec: { description: t.description, ...(t.expires ? { expiration: t.expires } : {}) },
    ...('token' in t ? { status: { token: t.token, joinCommand } } : {}),
  };
}

/** Whether `pathname` belongs to these routes. */
export function isTokenRoute(pathname: string): boolean {
  return pathname === tokenRoutePrefix || pathname.startsWith(`${tokenRoutePrefix}/`);
}

export async function handleTokenRoute(api: TokenApi, method: string, pathname: string, body: unknown): Promise<RouteResult> {
  const rest = pathname.slice(tokenRoutePrefix.length).replace(/^\//, '');
  if (rest.includes('/')) throw errors.notFound('bootstraptokens', rest);
  const id = rest === '' ? undefined : decodeURIComponent(rest);
  if (id === undefined && method === 'POST') {
    const spec = readSpec(body);
    const created = await api.tokens.create(spec);
    return { status: 201, body: tokenObject(created, api.joinCommand(created.token)) };
  }
  if (id === undefined && method === 'GET') {
    const items = (await api.tokens.list()).map((t) => tokenObject(t));
    return { status: 200, body: { apiVersion: tokenApiVersion, kind: 'BootstrapTokenList', metadata: {}, items } };
  }
  if (id !== undefined && method === 'GET') {
    const t = (await api.tokens.list()).find((x) => x.id === id);
    if (!t) throw errors.notFound('bootstraptokens', id);
    return { status: 200, body: tokenObject(t) };
  }
  if (id !== undefined && method === 'DELETE') {
    await api.tokens.delete(id);
    return {
      status: 200,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: id, kind: 'bootstraptokens' } },
    };
  }
  throw errors.methodNotAllowed(`${method} is not supported on ${pathname}`);
}

function readSpec(body: unknown): { ttlSeconds?: number; description?: string } {
  const spec = (body as { spec?: unknown } | undefined)?.spec ?? {};
  const errs: FieldError[] = [];
  if (typeof spec !== 'object' || spec === null) {
    throw errors.invalid('BootstrapToken', '', [{ field: 'spec', type: 'FieldValueInvalid', detail: 'must be an object' }]);
  }
  const { ttlSeconds, description } = spec as Record<string, unknown>;
  if (ttlSeconds !== undefined && typeof ttlSeconds !== 'number') errs.push({ field: 'spec.ttlSeconds', type: 'FieldValueInvalid', value: ttlSeconds, detail: 'must be a number of seconds' });
  if (description !== undefined && typeof description !== 'string') errs.push({ field: 'spec.description', type: 'FieldValueInvalid', value: description, detail: 'must be a string' });
  if (errs.length) throw errors.invalid('BootstrapToken', '', errs);
  return { ttlSeconds: ttlSeconds as number | undefined, description: description as string | undefined };
}
