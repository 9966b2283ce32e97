// `Event.sequence` is the event's position in its shopper's history (1 = oldest): concurrent
// recordEvents calls into one history — a brand-new anonymous session, a brand-new user —
// get distinct, gapless numbers, and an event that turns out to be a duplicate does not use
// one up. The hostile review's 20 concurrent events into a new session got 12 distinct numbers.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { recordEventBatch } from '../../src/db/events.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) {
  accepted duplicates results { duplicate event { sequence } } } }`;

describe.each(backends)('sequence numbers under concurrency on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let url: string | undefined;
  let server: TestServer;

  const sequences = async (where: string, param: string) =>
    (
      await db.query<{ seq: number }>(`SELECT seq FROM events WHERE ${where} ORDER BY seq`, [param])
    ).rows.map((r) => r.seq);
  const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  beforeAll(async () => {
    ({ db, dispose, url } = await backend.open());
    await db.query(`INSERT INTO items (id, dataset) VALUES ('shop:1', 'shop')`);
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  const record = (events: Record<string, unknown>[]) => server.gql(RECORD, { events });

  it('numbers 20 concurrent events into a new anonymous session 1–20 (5 sessions at once)', async () => {
    const sessions = oneTo(5).map((k) => `shop:s-new-${k}`);
    const answers = await Promise.all(
      sessions.flatMap((sessionId) =>
        oneTo(20).map((i) =>
          record([
            { clientEventId: `${sessionId}-${i}`, type: 'VIEW', sessionId, itemId: 'shop:1' },
          ]),
        ),
      ),
    );
    for (const a of answers) expect(a.errors).toBeUndefined();
    for (const [k, sessionId] of sessions.entries()) {
      const answered = answers
        .slice(k * 20, (k + 1) * 20)
        .map((a) => a.data.recordEvents.results[0].event.sequence);
      expect([...answered].sort((a, b) => a - b)).toEqual(oneTo(20));
      expect(await sequences('session_id = $1 AND user_id IS NULL', sessionId)).toEqual(oneTo(20));
    }
  });

  it('numbers concurrent batches into a new user gaplessly, in batch order', async () => {
    const answers = await Promise.all(
      oneTo(10).map((b) =>
        record(
          [1, 2, 3].map((k) => ({
            clientEventId: `user-${b}-${k}`,
            type: 'VIEW',
            userId: 'shop:u-new',
            itemId: 'shop:1',
          })),
        ),
      ),
    );
    for (const a of answers) {
      expect(a.errors).toBeUndefined();
      const s = a.data.recordEvents.results.map((r: any) => r.event.sequence);
      expect(s[1]).toBe(s[0] + 1);
      expect(s[2]).toBe(s[0] + 2);
    }
    expect(await sequences('user_id = $1', 'shop:u-new')).toEqual(oneTo(30));
  });

  it('does not spend a number on a duplicate sent concurrently', async () => {
    // Each of 8 events sent three times at once: 8 stored, numbered 1–8.
    const sends = oneTo(8).flatMap((i) =>
      [0, 1, 2].map(() => ({
        clientEventId: `dup-${i}`,
        type: 'VIEW',
        sessionId: 'shop:s-dup',
        itemId: 'shop:1',
      })),
    );
    const answers = await Promise.all(sends.map((e) => record([e])));
    for (const a of answers) expect(a.errors).toBeUndefined();
    const accepted = answers.reduce((n, a) => n + a.data.recordEvents.accepted, 0);
    const duplicates = answers.reduce((n, a) => n + a.data.recordEvents.duplicates, 0);
    expect([accepted, duplicates]).toEqual([8, 16]);
    expect(await sequences('session_id = $1', 'shop:s-dup')).toEqual(oneTo(8));
  });

  it.runIf(backend.name === 'postgres')(
    'does not spend a number on an event another transaction stores first under its id',
    async () => {
      // Another writer holds `shared-1` (for another shopper) uncommitted while a batch
      // [shared-1, own-2] for shop:u-late is stored: shared-1 turns out a duplicate once the
      // other commits, and own-2 must still be event 1 of shop:u-late, not 2.
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      try {
        await db.query(`INSERT INTO users (id, dataset) VALUES ('shop:u-other', 'shop')`);
        await other.query('BEGIN');
        await other.query(
          `INSERT INTO events (client_event_id, dataset, user_id, type, item_id, occurred_at, seq)
           VALUES ('shared-1', 'shop', 'shop:u-other', 'VIEW', 'shop:1', now(), 1)`,
        );
        const batch = recordEventBatch(
          db,
          ['shared-1', 'own-2'].map((clientEventId) => ({
            clientEventId,
            type: 'VIEW' as const,
            userId: 'shop:u-late',
            sessionId: null,
            itemId: 'shop:1',
            query: null,
            occurredAt: null,
          })),
          new Date(),
        );
        await new Promise((resolve) => setTimeout(resolve, 300)); // the batch waits on shared-1
        await other.query('COMMIT');
        const results = await batch;
        expect(results.map((r) => [r.event.clientEventId, r.duplicate, r.event.seq])).toEqual([
          ['shared-1', true, 1],
          ['own-2', false, 1],
        ]);
        expect(await sequences('user_id = $1', 'shop:u-late')).toEqual([1]);
      } finally {
        await other.end();
      }
    },
  );
});
