// The DIGINETICA importer on slices of the real files (test/fixtures/diginetica): counts
// match the files, sessions of the renumbered views sample stay apart, days and offsets are
// kept as given, histories are numbered in time order, re-import adds nothing.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importDiginetica } from '../../src/import/diginetica.js';
import { backends } from '../helpers/backends.js';
import { tempDir } from '../helpers/fixtures.js';

const DIR = path.resolve('test/fixtures/diginetica');
const FILES = ['product-categories.csv', 'train-purchases.csv', 'sample-train-item-views.csv'].map(
  (f) => path.join(DIR, f),
);

async function rows(file: string): Promise<string[][]> {
  const lines = (await readFile(path.join(DIR, file), 'utf8')).split('\n').slice(1);
  return lines.filter((l) => l.trim()).map((l) => l.split(';'));
}

describe.each(backends)('DIGINETICA import on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await backend.open()));
  afterAll(async () => dispose?.());

  it('imports purchases, views and categories with counts that match the files', async () => {
    const purchases = await rows('train-purchases.csv');
    const views = await rows('sample-train-item-views.csv');
    const cats = await rows('product-categories.csv');
    const report = await importDiginetica(db, FILES);
    expect(report.rejected).toBe(0);
    expect(report.counts.events.inserted).toBe(purchases.length + views.length);
    const users = new Set([
      ...purchases.map((r) => r[1]).filter((u) => u !== 'NA'),
      ...views.map((r) => r[1]).filter((u) => u !== 'NA'),
    ]);
    expect(report.counts.users.inserted).toBe(users.size);
    const sessions = new Set([...purchases.map((r) => r[0]), ...views.map((r) => `v${r[0]}`)]);
    expect(report.counts.sessions.inserted).toBe(sessions.size);
    expect(report.counts.categories.inserted).toBe(new Set(cats.map((r) => r[1])).size);

    const { rows: types } = await db.query<{ type: string; n: number }>(
      'SELECT type, count(*)::int AS n FROM events GROUP BY type ORDER BY type',
    );
    expect(types).toEqual([
      { type: 'PURCHASE', n: purchases.length },
      { type: 'VIEW', n: views.length },
    ]);
  });

  it('keeps the day and the session offset, and invents no time of day', async () => {
    const [first] = await rows('sample-train-item-views.csv');
    const [sess, , item, timeframe, day] = first!;
    const { rows: found } = await db.query<{ on: string; off: number; at: Date | null }>(
      `SELECT to_char(occurred_on, 'YYYY-MM-DD') AS on, session_offset_ms::float8 AS off, occurred_at AS at
       FROM events WHERE session_id = $1 AND item_id = $2 AND session_offset_ms = $3`,
      [`diginetica:v${sess}`, `diginetica:${item}`, Number(timeframe)],
    );
    expect(found).toEqual([{ on: day, off: Number(timeframe), at: null }]);
  });

  it('numbers each history 1…n in day/offset order', async () => {
    const { rows: bad } = await db.query(
      `SELECT h FROM (
         SELECT coalesce('u:' || user_id, 's:' || session_id) AS h, array_agg(seq ORDER BY seq) AS s, count(*) AS n
         FROM events GROUP BY 1) x
       WHERE s <> (SELECT array_agg(g) FROM generate_series(1, n::int) g)`,
    );
    expect(bad).toEqual([]);
    const { rows: disorder } = await db.query(
      `SELECT a.id FROM events a JOIN events b
         ON a.session_id = b.session_id AND a.user_id IS NOT DISTINCT FROM b.user_id
        AND a.seq < b.seq AND a.session_offset_ms > b.session_offset_ms
       LIMIT 1`,
    );
    expect(disorder).toEqual([]);
  });

  it('adds nothing on a second import and reports malformed rows with file:line', async () => {
    const again = await importDiginetica(db, FILES);
    expect(again.counts.events.inserted).toBe(0);
    const dir = await tempDir();
    const bad = path.join(dir, 'train-purchases.csv');
    await writeFile(
      bad,
      'sessionId;userId;timeframe;eventdate;ordernumber;itemId\n1;NA;5;2016-05-06;9;x\n2;NA;5;2016-05-06;10;81766\n',
    );
    const report = await importDiginetica(db, [bad]);
    expect(report.rejections).toEqual([
      `${bad}:2: expected sessionId;userId;timeframe;eventdate;ordernumber;itemId`,
    ]);
    expect(report.counts.events.inserted).toBe(1);
  });
});
