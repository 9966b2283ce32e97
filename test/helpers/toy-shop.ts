// The seven-item toy shop of the engine tests (test/forecast/engine.test.ts,
// cold-items.test.ts): four shoppers, items 1..6 known to the fake model (categories A1 / A2,
// item 1 following item 3 three times and item 6 once: the Markov term), item 7 stored but
// unknown to it.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../src/db/client.js';
import type { Forecast, ForecastFilter, ForecastRequest } from '../../src/forecast/forecast.js';
import { importAmazon } from '../../src/import/amazon.js';
import { tempDir } from './fixtures.js';

export const SEQUENCES = ['1 1 2', '2 3', '3 2 5', '4 7'];
export const A1 = 'toy:a1';
export const A2 = 'toy:a2';
/** The fake model's categories of items 1..6. */
export const MODEL_CATEGORIES = [[A1], [A1], [A2], [A2], [A1], [A2]];
/** The fake model's transitions: [from, to, count]. */
export const TRANSITIONS: [number, number, number][] = [
  [3, 1, 3],
  [3, 6, 1],
];

export const NO_FILTER: ForecastFilter = {
  excludePurchased: false,
  excludeSeen: false,
  inStockOnly: false,
  minPrice: null,
  maxPrice: null,
  categoryIds: null,
};

/** A forecast of `userId`'s top 3, excluding what the shopper had. */
export const request = (userId: string, over: Partial<ForecastRequest> = {}): ForecastRequest => ({
  subject: { kind: 'user', userId },
  first: 3,
  filter: { ...NO_FILTER, excludeSeen: true },
  explain: false,
  mode: 'MODEL',
  context: null,
  ...over,
});

export const ids = (f: Forecast | Error) => (f as Forecast).items.map((i) => i.itemId);

/** Imports the toy shop into `db`. */
export async function importToyShop(db: Db): Promise<void> {
  const dir = await tempDir();
  const sequences = path.join(dir, 'Toy.txt');
  const attributes = path.join(dir, 'Toy_item2attributes.json');
  await writeFile(sequences, SEQUENCES.join('\n') + '\n');
  await writeFile(
    attributes,
    JSON.stringify({ 1: [1], 2: [1], 3: [2], 4: [2], 5: [1], 6: [2], 7: [2] }),
  );
  await importAmazon(db, { sequences: [sequences], attributes: [attributes] });
}
