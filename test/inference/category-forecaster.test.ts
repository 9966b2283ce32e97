// The shipped next-category forecasters (category.json, catnet.onnx) against training's Python
// computation: every case of category-parity.json, the whole distribution.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CategoryForecaster, type CategoryEvent } from '../../src/inference/category/forecaster.js';

interface ParityCase {
  events: { itemId: string; occurredAt: string | null }[];
  top: { categoryId: string; probability: number }[];
  probabilities: number[];
}
interface Parity {
  forecaster: string;
  rule: string | null;
  cases: ParityCase[];
}

describe.each(['models/beauty', 'models/diginetica'])('the category forecaster of %s', (dir) => {
  const parity = JSON.parse(readFileSync(`${dir}/category-parity.json`, 'utf8')) as Parity;
  let forecaster: CategoryForecaster;
  beforeAll(async () => {
    forecaster = await CategoryForecaster.load(dir, 'category.json', 1);
  });
  afterAll(async () => forecaster?.release());

  it('is the forecaster training shipped', () => {
    expect(forecaster.kind).toBe(parity.forecaster);
    expect(forecaster.spec.rule).toBe(parity.rule);
    expect(parity.cases.length).toBeGreaterThanOrEqual(8);
  });

  it('gives the Python distribution for every parity history', async () => {
    for (const c of parity.cases) {
      const probs = await forecaster.distribution(
        c.events.map((e) => ({
          itemId: e.itemId,
          occurredAt: e.occurredAt === null ? null : new Date(e.occurredAt),
        })),
      );
      expect(probs).not.toBeNull();
      const p = probs as Float64Array;
      expect(p[0]).toBe(0);
      expect(p.length).toBe(c.probabilities.length + 1);
      let sum = 0;
      c.probabilities.forEach((want, k) => {
        expect(Math.abs((p[k + 1] as number) - want)).toBeLessThan(1e-5 + 1e-4 * want);
        sum += p[k + 1] as number;
      });
      expect(sum).toBeCloseTo(1, 6);
      const top = forecaster.top(p, 3);
      expect(top.map((t) => t.categoryId)).toEqual(c.top.slice(0, 3).map((t) => t.categoryId));
    }
  });

  it("puts an anchored mix's rule choice first: the last event's category (DIGINETICA)", async () => {
    if (!forecaster.spec.anchor) return; // Beauty's mix led the rule on top-1: not anchored
    expect(forecaster.spec.anchor).toBe('last');
    const table = forecaster.spec.itemCategories;
    for (const c of parity.cases) {
      const known = c.events.filter((e) => Object.hasOwn(table, e.itemId));
      const last =
        forecaster.spec.categories[(table[known[known.length - 1]!.itemId] as number) - 1];
      expect(c.top[0]!.categoryId).toBe(last);
      const p = (await forecaster.distribution(
        c.events.map((e) => ({ itemId: e.itemId, occurredAt: null })),
      )) as Float64Array;
      expect(forecaster.top(p, 1)[0]!.categoryId).toBe(last);
    }
  });

  it('reads only events on items it has a category for, and none gives no distribution', async () => {
    const c = parity.cases[parity.cases.length - 1] as ParityCase;
    const events = c.events.map((e) => ({
      itemId: e.itemId,
      occurredAt: e.occurredAt === null ? null : new Date(e.occurredAt),
    }));
    const padded = [{ itemId: 'nowhere:1', occurredAt: null }, ...events];
    expect(await forecaster.distribution(padded)).toEqual(await forecaster.distribution(events));
    expect(await forecaster.distribution([{ itemId: 'nowhere:1', occurredAt: null }])).toBeNull();
    expect(await forecaster.distribution([])).toBeNull();
  });

  it('gives a batch of histories, lengths shared and not, what it gives each alone', async () => {
    const histories = parity.cases.map((c) =>
      c.events.map((e) => ({
        itemId: e.itemId,
        occurredAt: e.occurredAt === null ? null : new Date(e.occurredAt),
      })),
    );
    // every history twice (runs shared by equal lengths), a prefix, and one with no known item
    const batch = [
      ...histories,
      [{ itemId: 'nowhere:1', occurredAt: null }],
      ...histories.slice().reverse(),
      (histories[histories.length - 1] as CategoryEvent[]).slice(0, 2),
    ];
    const together = await forecaster.distributions(batch);
    expect(together).toHaveLength(batch.length);
    for (const [k, events] of batch.entries()) {
      expect(together[k]).toEqual(await forecaster.distribution(events));
    }
    expect(together[histories.length]).toBeNull();
  });
});
