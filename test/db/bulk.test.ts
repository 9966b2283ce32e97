// The idempotent bulk insert writes every row of a batch larger than one statement can bind
// (PGlite answers a statement of more than 32,767 parameters with nothing), and counts only
// the new ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertIgnoringConflicts } from '../../src/db/bulk.js';
import type { Db } from '../../src/db/client.js';
import { backends } from '../helpers/backends.js';

describe.each(backends)('insertIgnoringConflicts on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await backend.open()));
  afterAll(async () => dispose?.());

  it('writes 20,000 four-column rows (80,000 parameters) and counts re-sent ones as old', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => [
      `bulk:s${i}`,
      'bulk',
      '{}',
      `{"i":${i}}`,
    ]);
    const insert = (r: unknown[][]) =>
      insertIgnoringConflicts(db, 'sessions', ['id', 'dataset', 'visit', 'intent_aggregate'], r, {
        visit: 'jsonb',
        intent_aggregate: 'jsonb',
      });
    expect(await insert(rows)).toBe(20_000);
    expect(await insert(rows.slice(19_000))).toBe(0);
    const { rows: n } = await db.query<{ n: number; top: number }>(
      `SELECT count(*)::int AS n, max((intent_aggregate->>'i')::int) AS top
       FROM sessions WHERE dataset = 'bulk'`,
    );
    expect(n[0]).toEqual({ n: 20_000, top: 19_999 });
  });
});
