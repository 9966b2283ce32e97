// Real UCI Online Shoppers rows and the parity fixture of the shipped intent model
// (models/intent/parity.json: raw features and the PyTorch probability per row), and a row
// turned back into the page views and visit a live session would record.
import { readFileSync } from 'node:fs';
import { type PageKind } from '../../src/db/page-views.js';

export const UCI_CSV = '../shared/data/uci-shoppers/online_shoppers_intention.csv';
export const INTENT_DIR = 'models/intent';

export interface ParityRow {
  row: number;
  features: number[];
  probability: number;
}

export const parityRows = (): ParityRow[] =>
  (JSON.parse(readFileSync(`${INTENT_DIR}/parity.json`, 'utf8')) as { rows: ParityRow[] }).rows;

/** The CSV's fields of data row `row` (0-based after the header). */
export function uciFields(row: number): string[] {
  const lines = readFileSync(UCI_CSV, 'utf8').split(/\r?\n/);
  return (lines[row + 1] as string).split(';');
}

export interface PageViewEvent {
  kind: PageKind;
  durationSeconds: number;
  value: number;
  bounceRate: number;
  exitRate: number;
  occurredAt: string;
}

/**
 * Page views reproducing a row's aggregates: its page counts per kind, each kind's total time
 * split evenly, every page carrying the row's mean bounce rate, exit rate and page value, dated
 * in the row's month on a weekend day or a weekday as the row says (2026, UTC).
 */
export function pageViewsOf(features: readonly number[]): PageViewEvent[] {
  const [admin, adminS, info, infoS, product, productS, bounce, exit, value] = features.slice(
    0,
    9,
  ) as [number, number, number, number, number, number, number, number, number];
  const month = features[10] as number;
  const weekend = features[16] === 1;
  // the first Saturday (weekend) or Wednesday (weekday) of that month
  const first = new Date(Date.UTC(2026, month - 1, 1));
  const target = weekend ? 6 : 3;
  const day = 1 + ((target - first.getUTCDay() + 7) % 7);
  const views: PageViewEvent[] = [];
  let minute = 0;
  for (const [kind, n, seconds] of [
    ['ADMINISTRATIVE', admin, adminS],
    ['INFORMATIONAL', info, infoS],
    ['PRODUCT', product, productS],
  ] as const)
    for (let k = 0; k < n; k++)
      views.push({
        kind,
        durationSeconds: seconds / n,
        value,
        bounceRate: bounce,
        exitRate: exit,
        occurredAt: new Date(Date.UTC(2026, month - 1, day, 10, minute++)).toISOString(),
      });
  return views;
}
