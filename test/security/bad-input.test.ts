// The bad-input corpus (test/fixtures/bad-input/*.json) sent over real HTTP to the gateway on
// each back-end: every hostile or malformed request is answered with its coded error (the
// expected status and `errors[0].extensions.code`), never a 5xx, a code-less error or a stack
// trace, and nothing stored changes (row count and checksum of every table, before and after).
//
// A corpus entry: `key` names the API key it is sent with (`none` sends none; `invalid` a
// well-formed unknown token; `revoked` a revoked key's; `wrong-secret` the read key's id with
// another secret; the others a live key of that scope class, see KEY_SCOPES); `search` is
// URL-encoded onto `path`; `headers` override the defaults (null drops one: content-type is
// application/json when there is a body, authorization comes from `key`); `body` is sent raw
// when it is a string and as JSON otherwise, after expanding the templates
// `{"$repeat": v, "times": n}` (n copies of v, "{i}" in its strings → the copy's index),
// `{"$text": s, "times": n}` (s repeated) and `{"$noise": n}` (n pseudo-random letters and
// digits, which do not compress); `bodyRepeat` builds a raw body from segments
// `{"text" or "hex", "times"?}` (one or a list; hex for bytes that are not UTF-8).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { ErrorCode } from '../../src/errors.js';
import { createApiKey, revokeApiKey } from '../../src/security/keys.js';
import type { Scope } from '../../src/security/scopes.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CORPUS_DIR = path.resolve('test/fixtures/bad-input');

/** The limits the corpus's expectations are written for. */
const ENV = {
  AUTH: 'required',
  API_KEY_CACHE_MS: '0',
  RATE_LIMIT: '0', // the corpus is not about the rate limiter (test/security/rate-limit.test.ts)
  BODY_LIMIT: '65536',
  MAX_QUERY_DEPTH: '6',
  MAX_ALIASES: '5',
  MAX_QUERY_COST: '1000',
  MAX_BATCH: '3',
  MAX_EVENT_BATCH: '10',
  MAX_CATALOG_BATCH: '10',
  MAX_PAGE_SIZE: '50',
};

const KEY_SCOPES = {
  read: ['read'],
  events: ['write:events'],
  catalog: ['write:catalog'],
  metrics: ['metrics'],
  admin: ['admin'],
} as const satisfies Record<string, readonly Scope[]>;
type LiveKey = keyof typeof KEY_SCOPES;
const KEY_CLASSES = [
  'none',
  'invalid',
  'revoked',
  'wrong-secret',
  ...(Object.keys(KEY_SCOPES) as LiveKey[]),
] as const;

const segment = z
  .object({ text: z.string(), hex: z.string(), times: z.number().int().min(1) })
  .partial()
  .strict()
  .refine((s) => (s.text === undefined) !== (s.hex === undefined), 'a segment has text or hex');
const entrySchema = z
  .object({
    name: z.string().min(1),
    key: z.enum(KEY_CLASSES),
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']),
    path: z.string().startsWith('/'),
    search: z.record(z.string(), z.string()).optional(),
    headers: z.record(z.string(), z.string().nullable()).optional(),
    body: z.unknown().optional(),
    bodyRepeat: z.union([segment, z.array(segment)]).optional(),
    expect: z.object({
      status: z.number().int().min(200).max(499),
      code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
    }),
  })
  .strict();
type Entry = z.infer<typeof entrySchema>;

function loadCorpus(): Entry[] {
  const files = readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const entries = files.flatMap((f) => {
    const parsed = z
      .array(entrySchema)
      .safeParse(JSON.parse(readFileSync(path.join(CORPUS_DIR, f), 'utf8')));
    if (!parsed.success) throw new Error(`${f}: ${parsed.error.message}`);
    return parsed.data;
  });
  const names = entries.map((e) => e.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length > 0) throw new Error(`corpus names repeated: ${repeated.join(', ')}`);
  return entries;
}

/** `$noise`: deterministic letters and digits (xorshift32), which PostgreSQL cannot compress. */
function noise(n: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let x = 2463534242;
  let s = '';
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += chars[x % chars.length];
  }
  return s;
}

/** Expands the body templates (see the top of this file); `index` fills "{i}". */
function expand(v: unknown, index?: number): unknown {
  if (typeof v === 'string') return index === undefined ? v : v.replaceAll('{i}', String(index));
  if (Array.isArray(v)) return v.map((x) => expand(x, index));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if ('$repeat' in o)
    return Array.from({ length: Number(o.times) }, (_, i) => expand(o.$repeat, i));
  if ('$text' in o) return String(o.$text).repeat(Number(o.times));
  if ('$noise' in o) return noise(Number(o.$noise));
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, expand(x, index)]));
}

/** The bytes to send (not a string: fetch would add a text/plain Content-Type). */
function bodyOf(e: Entry): Uint8Array<ArrayBuffer> | undefined {
  if (e.bodyRepeat !== undefined) {
    const parts = Array.isArray(e.bodyRepeat) ? e.bodyRepeat : [e.bodyRepeat];
    const bytes = Buffer.concat(
      parts.map((p) => {
        const one = p.hex !== undefined ? Buffer.from(p.hex, 'hex') : Buffer.from(p.text!);
        return Buffer.concat(Array.from({ length: p.times ?? 1 }, () => one));
      }),
    );
    return new Uint8Array(bytes);
  }
  if (e.body === undefined) return undefined;
  const text = typeof e.body === 'string' ? e.body : JSON.stringify(expand(e.body));
  return new Uint8Array(Buffer.from(text));
}

/** What gives away the server's insides. */
const LEAKS = [/\bat .+\.(ts|js):\d+/, /node_modules/, /\/src\//, /"stacktrace"/i];

interface Outcome {
  entry: Entry;
  status: number;
  code: string;
  /** Broken promises of the gateway, whatever was expected. */
  problems: string[];
  message: string;
}

async function send(origin: string, e: Entry, tokens: Record<string, string>): Promise<Outcome> {
  const body = bodyOf(e);
  const ownCredentials = e.headers && ('authorization' in e.headers || 'x-api-key' in e.headers);
  const headers: Record<string, string | null> = {
    ...(body !== undefined && { 'content-type': 'application/json' }),
    ...(e.key !== 'none' && !ownCredentials && { authorization: `Bearer ${tokens[e.key]}` }),
    ...e.headers,
  };
  const sent = Object.fromEntries(
    Object.entries(headers).filter((kv): kv is [string, string] => kv[1] !== null),
  );
  const search = e.search ? `?${new URLSearchParams(e.search)}` : '';
  const res = await fetch(`${origin}${e.path}${search}`, { method: e.method, headers: sent, body });
  const text = await res.text();
  const problems: string[] = [];
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push(`body is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
  if (!/json/.test(res.headers.get('content-type') ?? ''))
    problems.push(`content-type ${res.headers.get('content-type')}`);
  const errors: any[] | undefined = Array.isArray(json?.errors) ? json.errors : undefined;
  if (json !== undefined && (!errors || errors.length === 0)) problems.push('no errors array');
  if (errors?.some((err) => typeof err?.extensions?.code !== 'string'))
    problems.push('an error without extensions.code');
  if (res.status >= 500) problems.push(`status ${res.status}`);
  if (errors?.some((err) => err?.extensions?.code === 'INTERNAL_SERVER_ERROR'))
    problems.push('INTERNAL_SERVER_ERROR for a client request');
  for (const leak of LEAKS) if (leak.test(text)) problems.push(`leaks ${leak}`);
  return {
    entry: e,
    status: res.status,
    code: errors?.[0]?.extensions?.code ?? '(none)',
    problems,
    message: String(errors?.[0]?.message ?? text).slice(0, 160),
  };
}

interface TableState {
  rows: number;
  md5: string;
}

/**
 * Row count and checksum of every table of the public schema but postgrator's bookkeeping.
 * api_keys.last_used_at is left out of the checksum: verifying a key updates it.
 */
async function snapshot(db: Db): Promise<Record<string, TableState>> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schemaversion'
     ORDER BY table_name`,
  );
  const state: Record<string, TableState> = {};
  for (const { name } of tables) {
    const { rows: columns } = await db.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = $1
         AND NOT (table_name = 'api_keys' AND column_name = 'last_used_at')
       ORDER BY ordinal_position`,
      [name],
    );
    const row = columns.map((c) => `t."${c.name}"`).join(', ');
    const { rows } = await db.query<TableState>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(x, '|' ORDER BY x), '')) AS md5
       FROM (SELECT ROW(${row})::text AS x FROM "${name}" t) s`,
    );
    state[name] = rows[0]!;
  }
  return state;
}

const corpus = loadCorpus();

describe.each(backends)('the bad-input corpus on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  let before: Record<string, TableState>;
  let after: Record<string, TableState>;
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    const slice = await beautySlice(30);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    // A session that belongs to beauty:1, and a forecast served to beauty:1 (feedback cases).
    await db.query(
      `INSERT INTO sessions (id, dataset, user_id) VALUES ('beauty:s-owned', 'beauty', 'beauty:1')`,
    );
    await db.query(
      `INSERT INTO forecasts (id, mode, model_version, user_id, based_on_events, items, categories)
       VALUES ('0f0f0f0f-0000-4000-8000-000000000001', 'POPULARITY', 'popularity-baseline',
               'beauty:1', 0, '[{"itemId": "beauty:1", "rank": 1, "score": 1}]', '[]')`,
    );
    const tokens: Record<string, string> = {
      invalid: `fsk_000000000000_${'A'.repeat(43)}`,
    };
    for (const [cls, scopes] of Object.entries(KEY_SCOPES))
      tokens[cls] = (await createApiKey(db, { name: `corpus ${cls}`, scopes })).token;
    const revoked = await createApiKey(db, { name: 'corpus revoked', scopes: ['admin'] });
    await revokeApiKey(db, revoked.key.id);
    tokens.revoked = revoked.token;
    tokens['wrong-secret'] = `${tokens.read!.slice(0, 'fsk_'.length + 13)}${'B'.repeat(43)}`;

    server = await startServer(db, ENV);
    const origin = new URL(server.url).origin;
    before = await snapshot(db);
    for (const entry of corpus) outcomes.push(await send(origin, entry, tokens));
    after = await snapshot(db);

    const byCode = new Map<string, number>();
    for (const o of outcomes) byCode.set(o.code, (byCode.get(o.code) ?? 0) + 1);
    const counts = [...byCode].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    console.log(
      `bad-input corpus on ${backend.name}: ${outcomes.length} requests; ` +
        counts.map(([code, n]) => `${code} ${n}`).join(', '),
    );
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('holds at least 100 entries, and the database holds data to protect', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(100);
    expect(before.events!.rows).toBeGreaterThan(0);
    expect(before.items!.rows).toBeGreaterThan(0);
    expect(before.api_keys!.rows).toBe(Object.keys(KEY_SCOPES).length + 1);
  });

  it('answers every entry with the expected status and code', () => {
    const wrong = outcomes
      .filter((o) => o.status !== o.entry.expect.status || o.code !== o.entry.expect.code)
      .map(
        (o) =>
          `${o.entry.name}: expected ${o.entry.expect.status} ${o.entry.expect.code}, ` +
          `got ${o.status} ${o.code} (${o.message})`,
      );
    expect(wrong).toEqual([]);
  });

  it('answers JSON with coded errors, never a 5xx or a stack trace', () => {
    const broken = outcomes
      .filter((o) => o.problems.length > 0)
      .map((o) => `${o.entry.name}: ${o.problems.join('; ')}`);
    expect(broken).toEqual([]);
  });

  it('leaves every table as it was', () => {
    expect(after).toEqual(before);
  });
});
