// The Amazon importer on the bundled Beauty file: counts match the file, re-import adds
// nothing, order is kept without invented times, malformed lines are reported and skipped.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { amazonDataset, importAmazon } from '../../src/import/amazon.js';
import { attributeRoles, decodeEntities } from '../../src/import/amazon-names.js';
import { importSampleIfEmpty } from '../../src/import/sample.js';
import { silentProgress } from '../../src/import/progress.js';
import { backends } from '../helpers/backends.js';
import { BEAUTY_ATTRS, BEAUTY_TXT, beautySlice, tempDir } from '../helpers/fixtures.js';

const count = async (db: Db, sql: string, params: unknown[] = []) =>
  Number((await db.query<{ n: string | number }>(sql, params)).rows[0]?.n);

it('derives the dataset name from the file name as the model contract says', () => {
  expect(amazonDataset('/x/Beauty.txt')).toBe('beauty');
  expect(amazonDataset('Sports_and_Outdoors_item2attributes.json')).toBe('sports_and_outdoors');
});

it('tells brands from categories by where they stand in the attribute lists', () => {
  // brands 8 and 9 before roots 1 and 4; 1 › 2 › 3 (2 also under 4, less often); 4 › 7;
  // 5 is a root no brand precedes: it opens a list like a brand, but its child 6 opens none
  const roles = attributeRoles([
    [9, 1, 2, 3],
    [1, 2, 3],
    [9, 4, 2],
    [4, 7],
    [1, 2],
    [5, 6],
    [8, 4],
  ]);
  expect([...roles.brands].sort()).toEqual([8, 9]);
  expect(Object.fromEntries(roles.parents)).toEqual({
    1: null,
    2: 1,
    3: 2,
    4: null,
    5: null,
    6: 5,
    7: 4,
  });
  expect(decodeEntities('L&#39;Oreal &amp; Co&#153; caf&eacute; &bogus;')).toBe(
    "L'Oreal & Co™ café &bogus;",
  );
});

describe.each(backends)('Amazon import on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await backend.open()));
  afterAll(async () => dispose?.());

  it('imports the full Beauty sample with the counts of the published data set', async () => {
    const report = await importSampleIfEmpty(
      db,
      { sequences: BEAUTY_TXT, attributes: BEAUTY_ATTRS },
      silentProgress,
    );
    expect(report?.rejected).toBe(0);
    expect(report?.counts.users.inserted).toBe(22_363);
    expect(report?.counts.items.inserted).toBe(12_101);
    expect(report?.counts.events.inserted).toBe(198_502);
    expect(await count(db, 'SELECT count(*) AS n FROM users')).toBe(22_363);
    expect(await count(db, 'SELECT count(*) AS n FROM items')).toBe(12_101);
    expect(await count(db, 'SELECT count(*) AS n FROM events')).toBe(198_502);
    expect(await count(db, 'SELECT count(*) AS n FROM categories')).toBe(637);
    // Honest: no times, no prices; every interaction a purchase.
    expect(await count(db, 'SELECT count(*) AS n FROM events WHERE occurred_at IS NOT NULL')).toBe(
      0,
    );
    expect(await count(db, 'SELECT count(*) AS n FROM items WHERE price IS NOT NULL')).toBe(0);
    // The titles beside the sample: 12,094 of the 12,101 items (7 are empty in the source).
    expect(await count(db, 'SELECT count(*) AS n FROM items WHERE title IS NOT NULL')).toBe(12_094);
    expect(await count(db, "SELECT count(*) AS n FROM events WHERE type <> 'PURCHASE'")).toBe(0);
    // Planner statistics are fresh: the tables are not planned as empty (reltuples is -1 for
    // a table never analyzed).
    const { rows } = await db.query<{ relname: string; reltuples: number }>(
      `SELECT relname, reltuples::float8 AS reltuples FROM pg_class
       WHERE relname IN ('events', 'items', 'users', 'item_categories', 'categories')
       ORDER BY relname`,
    );
    const tuples = Object.fromEntries(rows.map((r) => [r.relname, r.reltuples]));
    expect(Object.keys(tuples)).toHaveLength(5);
    // ANALYZE samples large tables, so its row estimate is close rather than exact there.
    for (const [table, n] of Object.entries({ events: 198_502, items: 12_101, users: 22_363 }))
      expect(Math.abs((tuples[table] as number) / n - 1), table).toBeLessThan(0.05);
    expect(tuples.item_categories).toBeGreaterThan(0);
    expect(tuples.categories).toBeGreaterThan(0);
  }, 180_000);

  it('names items, brands and the category tree from the files beside the sample', async () => {
    const item = async (id: string) =>
      (
        await db.query<{ title: string | null; brand: string | null }>(
          'SELECT title, brand FROM items WHERE id = $1',
          [id],
        )
      ).rows[0];
    // The first line of Beauty_item_text.tsv; entities decoded (`L&#39;Oreal` in the source).
    expect(await item('beauty:1')).toEqual({
      title: 'OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce',
      brand: 'OPI',
    });
    expect(await count(db, "SELECT count(*) AS n FROM items WHERE title LIKE '%&#39;%'")).toBe(0);
    expect(await count(db, "SELECT count(*) AS n FROM items WHERE brand = 'L''Oreal Paris'")).toBe(
      await count(
        db,
        `SELECT count(*) AS n FROM item_categories ic JOIN categories c ON c.id = ic.category_id
         WHERE c.name = 'L''Oreal Paris'`,
      ),
    );
    // Brands open an item's list and are followed by a category: 7,454 items have one with a
    // name (18 brand names are empty in the source, 20 say `Unknown`).
    expect(await count(db, 'SELECT count(*) AS n FROM items WHERE brand IS NOT NULL')).toBe(7_454);
    // Only attribute 497 keeps its anonymous name: the source's name for it (a brand of 18
    // items) is empty. The tree has the six Amazon roots above its categories, and Mascara sits
    // under Eyes under Makeup.
    const anonymous = await db.query<{ id: string }>(
      "SELECT id FROM categories WHERE name LIKE 'attribute %'",
    );
    expect(anonymous.rows.map((r) => r.id)).toEqual(['beauty:a497']);
    const path = await db.query<{ name: string }>(
      `WITH RECURSIVE up AS (
         SELECT id, name, parent_id, 0 AS depth FROM categories WHERE name = 'Mascara'
         UNION ALL
         SELECT c.id, c.name, c.parent_id, up.depth + 1 FROM categories c JOIN up ON c.id = up.parent_id)
       SELECT name FROM up ORDER BY depth DESC`,
    );
    expect(path.rows.map((r) => r.name)).toEqual(['Makeup', 'Eyes', 'Mascara']);
    const roots = await db.query<{ name: string }>(
      `SELECT DISTINCT c.name FROM categories c
       WHERE c.parent_id IS NULL AND EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)
       ORDER BY c.name`,
    );
    expect(roots.rows.map((r) => r.name)).toEqual([
      'Bath & Body',
      'Fragrance',
      'Hair Care',
      'Makeup',
      'Skin Care',
      'Tools & Accessories',
    ]);
    // Brand attributes are roots without children, named after the brand.
    expect(
      await count(
        db,
        `SELECT count(DISTINCT c.id) AS n FROM categories c JOIN item_categories ic ON ic.category_id = c.id
         JOIN items i ON i.id = ic.item_id AND i.brand = c.name AND ic.position = 0`,
      ),
    ).toBeGreaterThan(400);
  });

  it('keeps each user history in file order through seq', async () => {
    const first = (await import('node:fs/promises')).readFile(BEAUTY_TXT, 'utf8');
    const line = (await first).split('\n')[0]!.split(' ');
    const { rows } = await db.query<{ itemId: string }>(
      'SELECT item_id AS "itemId" FROM events WHERE user_id = $1 ORDER BY seq',
      [`beauty:${line[0]}`],
    );
    expect(rows.map((r) => r.itemId)).toEqual(line.slice(1).map((i) => `beauty:${i}`));
  });

  it('adds nothing when the same files are imported again', async () => {
    const report = await importAmazon(db, { sequences: [BEAUTY_TXT], attributes: [BEAUTY_ATTRS] });
    expect(report.counts.events.read).toBe(198_502);
    expect(report.counts.events.inserted).toBe(0);
    expect(report.counts.users.inserted).toBe(0);
    expect(await count(db, 'SELECT count(*) AS n FROM events')).toBe(198_502);
    expect(
      await importSampleIfEmpty(
        db,
        { sequences: BEAUTY_TXT, attributes: BEAUTY_ATTRS },
        silentProgress,
      ),
    ).toBeNull();
  });

  it('finishes an automatic sample import that an earlier start left incomplete', async () => {
    const { db: fresh, dispose: drop } = await backend.open();
    try {
      const partial = await beautySlice(5);
      const full = await beautySlice(20); // same file names: the same sample
      // An earlier start began the sample import and was stopped after 5 users.
      await fresh.query(`INSERT INTO sample_import (name) VALUES ('Beauty.txt')`);
      await importAmazon(fresh, {
        sequences: [partial.sequences],
        attributes: [partial.attributes],
      });
      const resumed = await importSampleIfEmpty(
        fresh,
        { sequences: full.sequences, attributes: full.attributes },
        silentProgress,
      );
      expect(resumed?.counts.users.inserted).toBe(15);
      expect(await count(fresh, 'SELECT count(*) AS n FROM users')).toBe(20);
      const again = await importSampleIfEmpty(
        fresh,
        { sequences: full.sequences, attributes: full.attributes },
        silentProgress,
      );
      expect(again).toBeNull();
    } finally {
      await drop();
    }
  });

  it('rejects malformed lines with file and line number and imports the rest', async () => {
    const slice = await beautySlice(3);
    const dir = await tempDir();
    const file = path.join(dir, 'Broken.txt');
    await writeFile(file, [slice.lines[0], 'seven 1 2', '', '12 0 5', slice.lines[1]].join('\n'));
    const rejected: string[] = [];
    const report = await importAmazon(
      db,
      { sequences: [file], attributes: [] },
      { onReject: (m) => rejected.push(m) },
    );
    expect(report.rejected).toBe(2);
    expect(rejected).toEqual([
      expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: `)),
      expect.stringMatching(/Broken\.txt:4: /),
    ]);
    expect(report.counts.users.inserted).toBe(2);
    const expected = slice.lines[0]!.split(' ').length - 1 + slice.lines[1]!.split(' ').length - 1;
    expect(report.counts.events.inserted).toBe(expected);
    expect(await count(db, "SELECT count(*) AS n FROM events WHERE dataset = 'broken'")).toBe(
      expected,
    );
  });
});
