// Relay connection arguments ↔ keyset page requests, with the server's page-size cap. A cursor
// is base64url JSON `[list, ...key]`: the name of its list and the row's sort key. Decoding
// checks both before any SQL runs — the key's values must fit the keyset's SQL types, so a
// forged cursor is a BAD_USER_INPUT and never a failing cast in the database — and a cursor of
// another list (another connection field) is refused rather than taken as a position.
import type { Keyset, Page, PageRequest } from '../db/paging.js';
import { badUserInput } from '../errors.js';

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** A connection's cursors: the list they name, its sort key and how to read it off a row. */
export interface CursorList<R> {
  name: string;
  keyset: Keyset;
  keyOf: (row: R) => unknown[];
}

const DEFAULT_PAGE_SIZE = 20;
/** Longest text value of a cursor's key (ids are at most 200 characters when written). */
const MAX_TEXT_KEY = 1000;
/** Longest cursor decoded: a text key of MAX_TEXT_KEY characters, escaped, fits. */
const MAX_CURSOR_LENGTH = 8192;
const INT32 = 2 ** 31;

/** Whether a cursor value can be bound as `type` (the keyset's SQL type of that column). */
function fits(value: unknown, type: string): boolean {
  switch (type) {
    case 'text':
      return typeof value === 'string' && value.length <= MAX_TEXT_KEY && !value.includes('\0');
    case 'int':
      return Number.isInteger(value) && (value as number) >= -INT32 && (value as number) < INT32;
    case 'bigint': // event ids are read as text (`id::text`)
      return typeof value === 'string' ? /^-?\d{1,18}$/.test(value) : Number.isSafeInteger(value);
    default:
      return false;
  }
}

const encodeCursor = (list: string, key: unknown[]) =>
  Buffer.from(JSON.stringify([list, ...key])).toString('base64url');

function decodeCursor<R>(field: string, cursor: string, list: CursorList<R>): unknown[] {
  const refuse = (why: string) => badUserInput(field, `is not a cursor of this list (${why})`);
  if (cursor.length > MAX_CURSOR_LENGTH) throw refuse('too long');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse('not base64url JSON');
  }
  const { types } = list.keyset;
  if (!Array.isArray(decoded) || decoded.length !== types.length + 1) throw refuse('wrong shape');
  const [name, ...key] = decoded as unknown[];
  if (name !== list.name) throw refuse('a cursor of another list');
  if (!key.every((v, i) => fits(v, types[i] as string))) throw refuse('a key it cannot hold');
  return key;
}

/** Validates connection arguments of `list`, cursors included. */
export function pageRequest<R>(
  args: ConnectionArgs,
  maxPageSize: number,
  list: CursorList<R>,
): PageRequest {
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
  if (after != null) req.after = decodeCursor('after', after, list);
  if (before != null) req.before = decodeCursor('before', before, list);
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

export function toConnection<R>(page: Page<R>, list: CursorList<R>): Connection<R> {
  const edges = page.rows.map((node) => ({
    cursor: encodeCursor(list.name, list.keyOf(node)),
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
