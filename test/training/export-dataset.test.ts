// exportDataset writes what training reads: one sequence per user (per session for events
// without a user) in the gateway's order, with types and times, only events on items, the
// items' categories in position order, the same file whatever the page size; DIGINETICA
// imports get day + session offset as their time; an unknown dataset is refused by name.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { recordEventBatch } from '../../src/db/events.js';
import { importDiginetica } from '../../src/import/diginetica.js';
import {
  eventTime,
  exportDataset,
  type TrainingSequence,
} from '../../src/training/export-dataset.js';
import { backends } from '../helpers/backends.js';
import { tempDir } from '../helpers/fixtures.js';

const DIGINETICA = path.resolve('test/fixtures/diginetica');

async function readExport(dir: string) {
  const lines = (await readFile(path.join(dir, 'events.jsonl'), 'utf8')).trim().split('\n');
  return {
    raw: await readFile(path.join(dir, 'events.jsonl'), 'utf8'),
    sequences: lines.map((l) => JSON.parse(l) as TrainingSequence),
    attributes: JSON.parse(await readFile(path.join(dir, 'attributes.json'), 'utf8')) as Record<
      string,
      string[]
    >,
    tree: JSON.parse(await readFile(path.join(dir, 'categories.json'), 'utf8')) as Record<
      string,
      string | null
    >,
  };
}

const at = (iso: string) => new Date(iso);
const event = (
  clientEventId: string,
  type: 'VIEW' | 'CART' | 'PURCHASE' | 'SEARCH',
  userId: string | null,
  sessionId: string | null,
  itemId: string | null,
  occurredAt: Date | null,
) => ({ clientEventId, type, userId, sessionId, itemId, query: null, occurredAt });

describe.each(backends)('exportDataset on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  const received = at('2026-03-01T12:00:00Z');

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await db.query(
      `INSERT INTO categories (id, dataset, name) VALUES
         ('shop:fashion', 'shop', 'Fashion'), ('shop:bags', 'shop', 'Bags'), ('other:x', 'other', 'X')`,
    );
    await db.query(
      `INSERT INTO categories (id, dataset, name, parent_id)
       VALUES ('shop:shoes', 'shop', 'Shoes', 'shop:fashion')`,
    );
    await db.query(
      `INSERT INTO items (id, dataset) VALUES
         ('shop:1', 'shop'), ('shop:2', 'shop'), ('shop:3', 'shop'), ('shop:4', 'shop'), ('other:1', 'other')`,
    );
    await db.query(
      `INSERT INTO item_categories (item_id, category_id, position) VALUES
         ('shop:1', 'shop:shoes', 1), ('shop:1', 'shop:bags', 0), ('shop:2', 'shop:bags', 0),
         ('shop:4', 'shop:shoes', 0), ('other:1', 'other:x', 0)`,
    );
    await recordEventBatch(
      db,
      [
        event('e1', 'VIEW', 'shop:u1', 'shop:s1', 'shop:1', at('2026-03-01T10:00:00Z')),
        event('e2', 'SEARCH', 'shop:u1', 'shop:s1', null, at('2026-03-01T10:00:30Z')),
        event('e3', 'CART', 'shop:u1', 'shop:s1', 'shop:1', at('2026-03-01T10:01:00.250Z')),
        event('e4', 'VIEW', null, 'shop:s2', 'shop:2', at('2026-03-01T11:00:00Z')),
        event('e5', 'VIEW', null, 'shop:s2', 'shop:3', null), // the gateway's receipt time
        event('e6', 'VIEW', 'other:u9', 'other:s9', 'other:1', at('2026-03-01T09:00:00Z')),
      ],
      received,
    );
    // a later batch continues u1's history, in another session
    await recordEventBatch(
      db,
      [
        event('e7', 'PURCHASE', 'shop:u1', 'shop:s3', 'shop:2', at('2026-03-02T08:00:00Z')),
        event('e8', 'VIEW', 'shop:u2', 'shop:s4', 'shop:1', at('2026-03-02T09:00:00Z')),
      ],
      received,
    );
  });
  afterAll(async () => dispose?.());

  it('writes one sequence per user and per anonymous session, oldest first, events on items only', async () => {
    const dir = await tempDir();
    const report = await exportDataset(db, 'shop', dir);
    const { sequences, attributes, tree } = await readExport(dir);
    const t = (iso: string) => Date.parse(iso) / 1000;
    expect(sequences).toEqual([
      {
        id: 'user:shop:u1',
        events: [
          { item: 'shop:1', type: 'VIEW', at: t('2026-03-01T10:00:00Z') },
          { item: 'shop:1', type: 'CART', at: t('2026-03-01T10:01:00.250Z') },
          { item: 'shop:2', type: 'PURCHASE', at: t('2026-03-02T08:00:00Z') },
        ],
      },
      {
        id: 'user:shop:u2',
        events: [{ item: 'shop:1', type: 'VIEW', at: t('2026-03-02T09:00:00Z') }],
      },
      {
        id: 'session:shop:s2',
        events: [
          { item: 'shop:2', type: 'VIEW', at: t('2026-03-01T11:00:00Z') },
          { item: 'shop:3', type: 'VIEW', at: received.getTime() / 1000 },
        ],
      },
    ]);
    // categories in position order; items without one are absent; other datasets' items too
    expect(attributes).toEqual({ 'shop:1': ['shop:bags', 'shop:shoes'], 'shop:2': ['shop:bags'] });
    // the dataset's whole category tree (a category no item names too), other datasets' not
    expect(tree).toEqual({ 'shop:bags': null, 'shop:fashion': null, 'shop:shoes': 'shop:fashion' });
    expect(report).toMatchObject({
      dataset: 'shop',
      sequences: { user: 2, session: 1 },
      events: 6,
      eventsWithTime: { occurredAt: 6, derived: 0 },
      items: { total: 3, withCategories: 2 },
      categories: 2,
    });
  });

  it('writes the same file whatever the page size (keyset paging across histories)', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    await exportDataset(db, 'shop', a);
    await exportDataset(db, 'shop', b, { pageSize: 1 });
    expect((await readExport(b)).raw).toBe((await readExport(a)).raw);
  });

  it('refuses a dataset without events, naming the datasets that have some', async () => {
    await expect(exportDataset(db, 'nope', await tempDir())).rejects.toThrow(
      /dataset "nope" has no events on items to train on; datasets with events: other \(1 events\), shop \(7 events\)/,
    );
  });

  it('gives DIGINETICA imports their day plus session offset as time', async () => {
    const report = await importDiginetica(
      db,
      ['product-categories.csv', 'train-purchases.csv', 'sample-train-item-views.csv'].map((f) =>
        path.join(DIGINETICA, f),
      ),
    );
    const dir = await tempDir();
    const out = await exportDataset(db, 'diginetica', dir);
    expect(out.events).toBe(report.counts.events.inserted);
    expect(out.eventsWithTime).toEqual({ occurredAt: 0, derived: out.events });
    const { sequences } = await readExport(dir);
    // the first views row, in its (renumbered) session's sequence
    const views = (await readFile(path.join(DIGINETICA, 'sample-train-item-views.csv'), 'utf8'))
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(';'));
    const [sess, user, item, timeframe, day] = views[0]!;
    const id = user === 'NA' ? `session:diginetica:v${sess}` : `user:diginetica:${user}`;
    const seq = sequences.find((s) => s.id === id)!;
    expect(seq.events).toContainEqual({
      item: `diginetica:${item}`,
      type: 'VIEW',
      at: Date.parse(`${day}T00:00:00Z`) / 1000 + Number(timeframe) / 1000,
    });
  });
});

describe('eventTime', () => {
  it('prefers occurredAt, else day + offset, else null', () => {
    expect(eventTime(new Date('2026-01-01T00:00:01.5Z'), '2020-01-01', 5)).toBe(1767225601.5);
    expect(eventTime(null, '2016-05-06', 17_100_868)).toBe(Date.UTC(2016, 4, 6) / 1000 + 17100.868);
    expect(eventTime(null, '2016-05-06', null)).toBeNull();
    expect(eventTime(null, null, 5)).toBeNull();
  });
});
