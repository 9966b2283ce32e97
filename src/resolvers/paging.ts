// Relay connection arguments ↔ keyset page requests, with the server's page-size cap.
import type { Page, PageRequest } from '../db/paging.js';
import { badUserInput } from '../errors.js';

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

const DEFAULT_PAGE_SIZE = 20;

const encodeCursor = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(field: string, cursor: string, arity: number): unknown[] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === arity) return key;
  } catch {
    // fall through to the error below
  }
  throw badUserInput(field, 'is not a cursor of this list');
}

/** Validates connection arguments; `arity` is the number of values in this list's cursor. */
export function pageRequest(args: ConnectionArgs, maxPageSize: number, arity = 1): PageRequest {
  const { first, last, after, before } = args;
  if (first != null && last != null)
    throw badUserInput('last', 'use either first (forward) or last (backward), not both');
  for (const [name, v] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (v != null && (v < 0 || v > maxPageSize))
      throw badUserInput(name, `must be between 0 and ${maxPageSize} (the maximum page size)`);
  }
  const req: PageRequest = {};
  if (last != null) req.last = last;
  else req.first = first ?? Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (after != null) req.after = decodeCursor('after', after, arity);
  if (before != null) req.before = decodeCursor('before', before, arity);
  return req;
}

export interface Connection<R> {
  edges: { cursor: string; node: R }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

export function toConnection<R>(page: Page<R>, keyOf: (r: R) => unknown[]): Connection<R> {
  const edges = page.rows.map((node) => ({
    cursor: encodeCursor(keyOf(node)),
    node,
  }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

export const idKey = (r: { id: string }) => [r.id];
export const eventKey = (r: { seq: number; id: string }) => [r.seq, r.id];
