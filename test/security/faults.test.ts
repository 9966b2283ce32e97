// Durability under PostgreSQL faults, over real HTTP against the real gateway: writers keep
// sending recordEvents batches (retrying UNAVAILABLE with the same clientEventIds) while a
// killer terminates the gateway's backends and, midway, the database refuses connections for a
// while. Every acknowledged event must be stored exactly once, /readyz must follow the outage,
// and no request may end in an uncoded internal error. Then graceful shutdown: requests in
// flight finish, new connections are refused, and the hard deadline cuts a request that never
// ends. PostgreSQL only (PGlite has no connections to lose).
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { mulberry32 } from '../../src/random.js';
import { createApiKey } from '../../src/security/keys.js';
import { gracefulShutdown, type Readiness } from '../../src/shutdown.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { startServer } from '../helpers/server.js';

const postgres = backends.find((b) => b.name === 'postgres');
/** The server's maintenance database, as in test/helpers/backends.ts: ALTER DATABASE cannot
 * refuse connections to the database it is sent from. */
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const WRITERS = 8;
const BATCHES = 25;
const EVENTS_PER_BATCH = 20;
/** Attempts per batch; with the backoff below, about 10 s of outage per batch at most. */
const MAX_ATTEMPTS = 40;
/** Keys and rate limits are not what the shutdown tests are about. */
const ENV = { AUTH: 'off', RATE_LIMIT: '0' };
/** The fault test authenticates every request with a key looked up afresh (no cache), so the
 * key lookup meets the dead connections too; no token buckets (RATE_LIMIT=0). */
const FAULT_ENV = { AUTH: 'required', API_KEY_CACHE_MS: '0', RATE_LIMIT: '0' };

const RECORD = `mutation($events: [EventInput!]!) {
  recordEvents(events: $events) { accepted duplicates results { duplicate event { id clientEventId } } }
}`;

interface GqlBody {
  data?: {
    recordEvents?: {
      results: { duplicate: boolean; event: { id: string; clientEventId: string } }[];
    };
  } | null;
  errors?: { message: string; extensions?: { code?: string; retryAfterMs?: number } }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET /readyz on a connection of its own: status, body and Connection header, or the socket
 * error's code (ECONNREFUSED once the server has stopped listening). `keepAlive` asks the
 * server to keep the connection (Node's default without an agent is to close it). */
function probe(
  origin: string,
  keepAlive = false,
): Promise<{ status: number; body: string; connection?: string } | string> {
  return new Promise((resolve) => {
    const headers = keepAlive ? { connection: 'keep-alive' } : {};
    const req = http.get(`${origin}/readyz`, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection });
        req.destroy();
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Polls `check` every 50 ms until it returns true, for at most `ms`; whether it did. */
async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50))
    if (await check()) return true;
  return false;
}

describe.skipIf(!postgres)('PostgreSQL faults', () => {
  let db: Db;
  let dispose: () => Promise<void>;
  let url: string;
  let dbName: string;
  /** Outside the gateway's pool, on the maintenance database: kills, ALTER DATABASE. */
  let admin: pg.Client;
  let itemIds: string[];

  beforeAll(async () => {
    const opened = await postgres!.open();
    ({ db, dispose } = opened);
    url = opened.url!;
    dbName = new URL(url).pathname.slice(1);
    const slice = await beautySlice(30);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    itemIds = (
      await db.query<{ id: string }>('SELECT id FROM items ORDER BY id LIMIT 50')
    ).rows.map((r) => r.id);
    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS true`).catch(() => {});
    await admin?.end();
    await dispose?.();
  });

  /** Terminates every backend of the database but the admin's own; how many. */
  const terminateAll = async (): Promise<number> =>
    (
      await admin.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [dbName],
      )
    ).rows[0]!.n;

  it('stores every acknowledged event exactly once while connections die', async () => {
    const { token } = await createApiKey(db, { name: 'fault-writer', scopes: ['write:events'] });
    const server = await startServer(db, FAULT_ENV);
    const origin = new URL(server.url).origin;
    const random = mulberry32(16);

    const sent = new Set<string>();
    /** clientEventId → the server id acknowledged for it, from successful payloads. */
    const acknowledged = new Map<string, string>();
    const unexpected: string[] = [];
    let attempts = 0;
    let unavailable = 0;
    let networkErrors = 0;
    let retriedBatches = 0;
    /** Acknowledged as duplicates: an earlier attempt had committed, its answer was lost. */
    let duplicateAcks = 0;
    let failedBatches = 0;
    let doneBatches = 0;
    let halfway!: () => void;
    const reachedHalfway = new Promise<void>((r) => (halfway = r));

    const sendBatch = async (events: Record<string, string>[]) => {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        attempts++;
        if (attempt > 1) await sleep(Math.min(10 * 2 ** attempt, 250) * (0.5 + random()));
        let status: number;
        let body: GqlBody;
        try {
          const res = await fetch(server.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: RECORD, variables: { events } }),
          });
          status = res.status;
          body = (await res.json()) as GqlBody;
        } catch {
          networkErrors++;
          continue;
        }
        const payload = body.data?.recordEvents;
        if (status === 200 && payload && !body.errors) {
          for (const r of payload.results) {
            const before = acknowledged.get(r.event.clientEventId);
            if (before !== undefined && before !== r.event.id)
              unexpected.push(
                `${r.event.clientEventId} acknowledged as ${before} and ${r.event.id}`,
              );
            acknowledged.set(r.event.clientEventId, r.event.id);
            if (r.duplicate) duplicateAcks++;
          }
          if (attempt > 1) retriedBatches++;
          if (++doneBatches === (WRITERS * BATCHES) / 2) halfway();
          return;
        }
        const errors = body.errors ?? [];
        if (
          errors.length > 0 &&
          errors.every(
            (e) => e.extensions?.code === 'UNAVAILABLE' && e.extensions.retryAfterMs !== undefined,
          )
        ) {
          unavailable++;
          continue;
        }
        unexpected.push(`HTTP ${status}: ${JSON.stringify(body).slice(0, 300)}`);
        break;
      }
      failedBatches++;
    };

    const writer = async (w: number) => {
      for (let b = 0; b < BATCHES; b++) {
        const events = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => {
          const clientEventId = `fault-w${w}-b${b}-e${i}`;
          sent.add(clientEventId);
          return {
            clientEventId,
            type: i % 5 === 4 ? 'CART' : 'VIEW',
            userId: `beauty:fault-u${w}-${i % 3}`,
            sessionId: `beauty:fault-s${w}-${b}-${i % 3}`,
            itemId: itemIds[(w * 7 + b * 3 + i) % itemIds.length]!,
          };
        });
        await sendBatch(events);
      }
    };

    let writing = true;
    let killed = 0;
    let killRounds = 0;
    const killer = (async () => {
      while (writing) {
        killed += await terminateAll();
        killRounds++;
        await sleep(40 + 80 * random());
      }
    })();

    // Midway the database refuses connections (ALTER DATABASE … ALLOW_CONNECTIONS false, then
    // every open one terminated) until /readyz has said so, then takes them again.
    const readyz: string[] = [];
    const readyzNow = async () => {
      const r = await probe(origin);
      const s = typeof r === 'string' ? r : String(r.status);
      if (readyz.at(-1) !== s) readyz.push(s);
      return s;
    };
    let sawRefusal = false;
    let sawRecovery = false;
    const outage = (async () => {
      await reachedHalfway;
      await readyzNow();
      await admin.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS false`);
      killed += await terminateAll();
      sawRefusal = await waitFor(async () => (await readyzNow()) === '503', 5000);
      await sleep(300); // writers meet the refusal
      await admin.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS true`);
      sawRecovery = await waitFor(async () => (await readyzNow()) === '200', 5000);
    })();

    const settled = await Promise.allSettled([
      // writers that all stop early (every batch refused) still let the outage run and end
      Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w))).finally(halfway),
      outage,
    ]);
    writing = false;
    await killer;
    await server.close();
    for (const s of settled) if (s.status === 'rejected') throw s.reason;

    const { rows } = await db.query<{ clientEventId: string; id: string }>(
      `SELECT client_event_id AS "clientEventId", id::text AS id FROM events
       WHERE client_event_id LIKE 'fault-%'`,
    );
    const stored = new Map(rows.map((r) => [r.clientEventId, r.id]));
    const [counts] = (
      await db.query<{ n: number; distinct: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT client_event_id)::int AS distinct FROM events
         WHERE client_event_id LIKE 'fault-%'`,
      )
    ).rows;
    const transitions = readyz.length - 1;
    console.log(
      `faults: events sent ${sent.size} / acknowledged ${acknowledged.size} ` +
        `(${duplicateAcks} as duplicates of an attempt whose answer was lost) / stored ` +
        `${stored.size}; ${WRITERS * BATCHES} batches, ${retriedBatches} retried ` +
        `(${attempts} requests, ${unavailable} UNAVAILABLE, ${networkErrors} network errors); ` +
        `connections killed ${killed} (${killRounds} killer rounds and the outage); ` +
        `readyz ${readyz.join(' → ')} (${transitions} transitions)`,
    );

    expect(unexpected).toEqual([]);
    expect(failedBatches).toBe(0);
    // Faults were injected and seen, so the rest is not a fair-weather result.
    expect(killed).toBeGreaterThan(0);
    expect(unavailable).toBeGreaterThan(0);
    expect(sawRefusal).toBe(true);
    expect(sawRecovery).toBe(true);
    // Exactly once: one row per client id (also the UNIQUE constraint), each acknowledged
    // event stored under the id its acknowledgement named, nothing stored that was not sent.
    expect(counts).toEqual({ n: stored.size, distinct: stored.size });
    for (const [clientEventId, id] of acknowledged) expect(stored.get(clientEventId)).toBe(id);
    for (const clientEventId of stored.keys()) expect(sent.has(clientEventId)).toBe(true);
    expect(acknowledged.size).toBe(sent.size);
    // Retried batches continued each history without reusing a sequence number.
    const { rows: histories } = await db.query<{ n: number; seqs: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS seqs FROM events
       WHERE client_event_id LIKE 'fault-%' GROUP BY user_id`,
    );
    expect(histories.filter((h) => h.n !== h.seqs)).toEqual([]);
  }, 60_000);

  describe('graceful shutdown', () => {
    const ITEM = `query($id: ID!) { item(id: $id) { id title } }`;
    let locker: pg.Client | null = null;

    /** Holds an ACCESS EXCLUSIVE lock on items until `release` (reads of items wait). */
    const lockItems = async () => {
      locker = new pg.Client({ connectionString: url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
    };
    const release = async () => {
      const held = locker;
      locker = null;
      if (!held) return;
      await held.query('COMMIT');
      await held.end();
    };
    const waitingOnLock = async () =>
      (
        await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [dbName],
        )
      ).rows[0]!.n > 0;

    it('answers /readyz with 503 draining and closes connections once draining', async () => {
      const readiness: Readiness = { draining: false };
      const server = await startServer(db, ENV, { readiness });
      const origin = new URL(server.url).origin;
      try {
        expect(await probe(origin, true)).toMatchObject({ status: 200, connection: 'keep-alive' });
        readiness.draining = true;
        const draining = await probe(origin, true);
        expect(draining).toMatchObject({ status: 503, connection: 'close' });
        expect(JSON.parse((draining as { body: string }).body)).toEqual({
          status: 'draining',
          storage: 'postgres',
        });
      } finally {
        await server.close();
      }
    });

    it('lets the request in flight finish, refusing new connections meanwhile', async () => {
      const readiness: Readiness = { draining: false };
      const server = await startServer(db, ENV, { readiness });
      const origin = new URL(server.url).origin;
      const itemId = itemIds[0]!;
      await lockItems();
      try {
        const inFlight = server.gql(ITEM, { id: itemId });
        expect(await waitFor(waitingOnLock, 10_000)).toBe(true);

        const closed: string[] = [];
        const log: string[] = [];
        const shutdown = gracefulShutdown(
          server.app,
          [() => void closed.push('engine'), async () => void closed.push('db')],
          { readiness, timeoutMs: 30_000, log: (l) => log.push(l) },
        );
        expect(readiness.draining).toBe(true);
        // Draining: /readyz says so (503), or the listener is already gone.
        const first = await probe(origin);
        expect(
          first === 'ECONNREFUSED' || (typeof first !== 'string' && first.status === 503),
        ).toBe(true);
        expect(await waitFor(async () => (await probe(origin)) === 'ECONNREFUSED', 5000)).toBe(
          true,
        );
        expect(closed).toEqual([]); // still waiting for the request

        await release();
        const res = await inFlight;
        expect(res.status).toBe(200);
        expect(res.errors).toBeUndefined();
        expect(res.data.item.id).toBe(itemId);
        // Resolves: the finished request's keep-alive connection does not hold the close open.
        expect(await shutdown).toBe('closed');
        expect(closed).toEqual(['engine', 'db']);
        expect(log).toHaveLength(1);
      } finally {
        await release();
      }
    }, 60_000);

    it('cuts a request that outlives the deadline', async () => {
      const readiness: Readiness = { draining: false };
      const server = await startServer(db, ENV, { readiness });
      await lockItems();
      try {
        const inFlight = server.gql(ITEM, { id: itemIds[1]! }).then(
          () => 'answered',
          () => 'cut',
        );
        expect(await waitFor(waitingOnLock, 10_000)).toBe(true);
        const closed: string[] = [];
        const log: string[] = [];
        const outcome = await gracefulShutdown(server.app, [() => void closed.push('db')], {
          readiness,
          timeoutMs: 300,
          log: (l) => log.push(l),
        });
        expect(outcome).toBe('timed-out');
        expect(await inFlight).toBe('cut');
        expect(closed).toEqual([]); // the caller exits; nothing is closed under a live request
        expect(log.at(-1)).toMatch(/still busy after 300 ms/);
      } finally {
        await release();
      }
    }, 60_000);
  });
});
