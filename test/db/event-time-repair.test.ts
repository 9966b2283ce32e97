// Migration 017 on a database written before the time policy: events with times out of range
// (9999-12-31 and 0001-01-01 from recordEvents, 9999-12-31 days from an import) are moved to
// events_quarantine with the reason, the histories they were in are numbered 1..n again, their
// sessions' first and last times recomputed, and trending answers over the repaired data.
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { createTemporaryDatabase, openPostgres } from '../../src/db/postgres.js';
import { trending } from '../../src/evolution/trends.js';
import { backends } from '../helpers/backends.js';

const VARS = { EMBEDDING_DIM: 64 };
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database migrated up to (and including) `last`, as an earlier version left it. */
async function openAt(
  name: 'pglite' | 'postgres',
  last: string,
): Promise<{ db: Db; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-migrations-'));
  for (const f of await readdir(MIGRATIONS_DIR))
    if (f.endsWith('.sql') && f <= last)
      await copyFile(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
  let db: Db;
  let drop = async () => {};
  if (name === 'pglite') db = await openPglite(undefined);
  else {
    const temp = await createTemporaryDatabase(ADMIN_URL, 'foresight_t');
    db = await openPostgres(temp.url);
    drop = temp.drop;
  }
  await migrate(db, VARS, dir);
  await rm(dir, { recursive: true, force: true });
  return {
    db,
    dispose: async () => {
      await db.close();
      await drop();
    },
  };
}

describe.each(backends)('migration 017 on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ db, dispose } = await openAt(backend.name, '016'));
    await db.exec(`
      INSERT INTO items (id, dataset) VALUES ('shop:1', 'shop');
      INSERT INTO users (id, dataset) VALUES ('shop:u1', 'shop');
      INSERT INTO sessions (id, dataset, user_id, started_at, last_event_at) VALUES
        ('shop:s1', 'shop', 'shop:u1', '0001-01-01T00:00:00Z', '9999-12-31T00:00:00Z'),
        ('shop:anon', 'shop', NULL, '2026-01-01T00:00:00Z', '9999-12-31T00:00:00Z');
      INSERT INTO events (client_event_id, dataset, user_id, session_id, type, item_id, occurred_at, occurred_on, seq) VALUES
        ('u-1', 'shop', 'shop:u1', 'shop:s1', 'VIEW', 'shop:1', '0001-01-01T00:00:00Z', NULL, 1),
        ('u-2', 'shop', 'shop:u1', 'shop:s1', 'VIEW', 'shop:1', '2026-01-02T10:00:00Z', NULL, 2),
        ('u-3', 'shop', 'shop:u1', 'shop:s1', 'VIEW', 'shop:1', '9999-12-31T00:00:00Z', NULL, 3),
        ('u-4', 'shop', 'shop:u1', 'shop:s1', 'CART', 'shop:1', '2026-01-03T10:00:00Z', NULL, 4),
        ('a-1', 'shop', NULL, 'shop:anon', 'VIEW', 'shop:1', '2026-01-01T00:00:00Z', NULL, 1),
        ('a-2', 'shop', NULL, 'shop:anon', 'VIEW', 'shop:1', '9999-12-31T00:00:00Z', NULL, 2),
        ('a-3', 'shop', NULL, 'shop:anon', 'VIEW', 'shop:1', '2026-01-04T00:00:00Z', NULL, 3),
        ('d-1', 'shop', 'shop:u1', NULL, 'VIEW', 'shop:1', NULL, '9999-12-31', 5),
        ('d-2', 'shop', 'shop:u1', NULL, 'VIEW', 'shop:1', NULL, '1989-12-31', 6),
        ('ok', 'shop', 'shop:u1', NULL, 'VIEW', 'shop:1', NULL, '2026-01-05', 7);
    `);
    await migrate(db, VARS);
  });
  afterAll(async () => dispose?.());

  it('moves every event out of range to events_quarantine, with the reason and the whole row', async () => {
    const { rows } = await db.query<{ clientEventId: string; reason: string; row: any }>(
      `SELECT client_event_id AS "clientEventId", reason, row FROM events_quarantine
       ORDER BY client_event_id`,
    );
    expect(rows.map((r) => [r.clientEventId, r.reason])).toEqual([
      ['a-2', 'occurred_at ahead of the clock'],
      ['d-1', 'occurred_on after today'],
      ['d-2', 'occurred_on before 1990-01-01'],
      ['u-1', 'occurred_at before 1990-01-01'],
      ['u-3', 'occurred_at ahead of the clock'],
    ]);
    expect(rows[0]!.row).toMatchObject({
      client_event_id: 'a-2',
      session_id: 'shop:anon',
      user_id: null,
      type: 'VIEW',
      seq: 2,
    });
    const { rows: left } = await db.query<{ id: string }>(
      `SELECT client_event_id AS id FROM events ORDER BY client_event_id`,
    );
    expect(left.map((r) => r.id)).toEqual(['a-1', 'a-3', 'ok', 'u-2', 'u-4']);
  });

  it('numbers the histories that lost events 1..n again, in their order', async () => {
    const { rows } = await db.query<{ id: string; seq: number }>(
      `SELECT client_event_id AS id, seq FROM events ORDER BY coalesce(user_id, session_id), seq`,
    );
    expect(rows).toEqual([
      { id: 'a-1', seq: 1 },
      { id: 'a-3', seq: 2 },
      { id: 'u-2', seq: 1 },
      { id: 'u-4', seq: 2 },
      { id: 'ok', seq: 3 },
    ]);
  });

  it("recomputes the sessions' first and last times from what is left", async () => {
    const { rows } = await db.query<{ id: string; first: Date; last: Date }>(
      `SELECT id, started_at AS first, last_event_at AS last FROM sessions ORDER BY id`,
    );
    expect(rows.map((r) => [r.id, r.first.toISOString(), r.last.toISOString()])).toEqual([
      ['shop:anon', '2026-01-01T00:00:00.000Z', '2026-01-04T00:00:00.000Z'],
      ['shop:s1', '2026-01-02T10:00:00.000Z', '2026-01-03T10:00:00.000Z'],
    ]);
  });

  it('leaves trending with the dataset as it really is', async () => {
    const t = await trending(db, 'item', {
      dataset: 'shop',
      window: 7,
      first: 5,
      minSupport: 1,
      asOf: null,
    });
    expect(t.asOf).toBe('2026-01-05');
    expect(t.recentInteractions).toBe(5);
  });
});
