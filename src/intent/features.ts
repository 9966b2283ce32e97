// The purchase-intent model's input: the 17 raw features of the UCI Online Shoppers data set
// (Sakar et al., 2019), in the order models/intent/intent.json lists them. Serving computes
// them from a session's page views and visit attributes (`featuresFromPageViews`); the UCI
// import reads them from a CSV row (`featuresFromUciRow`). The exported model does its own
// preprocessing (log scales, standardisation, one-hot codes), so both feed raw values.
import {
  type PageKind,
  type VisitorType,
  type Visit,
  type PageViewSummary,
  PAGE_KINDS,
} from '../db/page-views.js';

export const INTENT_FEATURES = [
  'Administrative',
  'Administrative_Duration',
  'Informational',
  'Informational_Duration',
  'ProductRelated',
  'ProductRelated_Duration',
  'BounceRates',
  'ExitRates',
  'PageValues',
  'SpecialDay',
  'Month',
  'OperatingSystems',
  'Browser',
  'Region',
  'TrafficType',
  'VisitorType',
  'Weekend',
] as const;

/** Upper bound of one page view's time on page (a day). */
export const MAX_PAGE_SECONDS = 86_400;

export interface PageViewRecord {
  kind: PageKind;
  durationSeconds: number;
  /** The page's metrics in the shop's analytics; null where it does not report them. */
  value: number | null;
  bounceRate: number | null;
  exitRate: number | null;
  occurredAt: Date | null;
}

/** The model's VisitorType codes (UCI Returning_Visitor, New_Visitor, Other). */
const VISITOR_CODE: Record<VisitorType, number> = { RETURNING: 0, NEW: 1, OTHER: 2 };

/** The summary of page views (oldest first); null without page views. */
export function summarisePageViews(pages: readonly PageViewRecord[]): PageViewSummary | null {
  if (pages.length === 0) return null;
  const per = (f: (p: PageViewRecord) => number) =>
    Object.fromEntries(
      PAGE_KINDS.map((k) => [k, pages.filter((p) => p.kind === k).reduce((a, p) => a + f(p), 0)]),
    ) as Record<PageKind, number>;
  const mean = (f: (p: PageViewRecord) => number | null) => {
    const xs = pages.map(f).filter((x): x is number => x !== null);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  };
  return {
    pages: per(() => 1),
    seconds: per((p) => p.durationSeconds),
    bounceRate: mean((p) => p.bounceRate),
    exitRate: mean((p) => p.exitRate),
    value: mean((p) => p.value),
    firstAt: pages.find((p) => p.occurredAt)?.occurredAt ?? null,
  };
}

/**
 * The features of a session from the summary of its page views and its visit: page counts and
 * total seconds per kind; BounceRates, ExitRates and PageValues as the means over the pages
 * whose analytics reports them (0 where none does); Month and Weekend of the first page view
 * (UTC; `now` when no view has a time); the visit's codes (0 = unknown, which the model reads as
 * no category) and SpecialDay (0 when not sent); VisitorType as sent, else `defaultVisitor`.
 */
export function featuresFromSummary(
  s: PageViewSummary,
  visit: Visit,
  defaultVisitor: VisitorType,
  now: Date,
): number[] {
  const at = s.firstAt ?? now;
  const day = at.getUTCDay();
  return [
    s.pages.ADMINISTRATIVE,
    s.seconds.ADMINISTRATIVE,
    s.pages.INFORMATIONAL,
    s.seconds.INFORMATIONAL,
    s.pages.PRODUCT,
    s.seconds.PRODUCT,
    s.bounceRate ?? 0,
    s.exitRate ?? 0,
    s.value ?? 0,
    visit.specialDay ?? 0,
    at.getUTCMonth() + 1,
    visit.operatingSystem ?? 0,
    visit.browser ?? 0,
    visit.region ?? 0,
    visit.trafficType ?? 0,
    VISITOR_CODE[visit.visitorType ?? defaultVisitor],
    day === 0 || day === 6 ? 1 : 0,
  ];
}

/** The features of page views (oldest first) and a visit; null without page views. */
export function featuresFromPageViews(
  pages: readonly PageViewRecord[],
  visit: Visit,
  defaultVisitor: VisitorType,
  now: Date,
): number[] | null {
  const s = summarisePageViews(pages);
  return s && featuresFromSummary(s, visit, defaultVisitor, now);
}

/** Page rates and SpecialDay lie in [0, 1]; visit codes are integers ≥ 1. */
export const isRate = (x: number) => Number.isFinite(x) && x >= 0 && x <= 1;
export const isCode = (x: number) => Number.isInteger(x) && x >= 1;

const MONTHS: Record<string, number> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  June: 6,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};
const UCI_VISITOR: Record<string, VisitorType> = {
  Returning_Visitor: 'RETURNING',
  New_Visitor: 'NEW',
  Other: 'OTHER',
};

/** The UCI CSV's header, in file order (`Revenue` last: the label, not a feature). */
export const UCI_COLUMNS = [...INTENT_FEATURES, 'Revenue'] as const;

/**
 * The features and label of one UCI CSV row (fields in UCI_COLUMNS order); throws a message
 * naming the column when a field is malformed.
 */
export function featuresFromUciRow(fields: readonly string[]): {
  features: number[];
  visitorType: VisitorType;
  revenue: boolean;
} {
  if (fields.length !== UCI_COLUMNS.length)
    throw new Error(`has ${fields.length} fields, expected ${UCI_COLUMNS.length}`);
  const bool = (s: string, column: string) => {
    if (s !== 'TRUE' && s !== 'FALSE') throw new Error(`${column}: "${s}" is not TRUE or FALSE`);
    return s === 'TRUE';
  };
  const visitorType = UCI_VISITOR[fields[15] as string];
  if (!visitorType) throw new Error(`VisitorType: unknown value "${fields[15]}"`);
  const month = MONTHS[fields[10] as string];
  if (!month) throw new Error(`Month: unknown value "${fields[10]}"`);
  const features = fields.slice(0, 17).map((s, k) => {
    if (k === 10) return month;
    if (k === 15) return VISITOR_CODE[visitorType];
    if (k === 16) return bool(s, 'Weekend') ? 1 : 0;
    const x = Number(s);
    const name = INTENT_FEATURES[k] as string;
    if (s.trim() === '' || !Number.isFinite(x) || x < 0)
      throw new Error(`${name}: "${s}" is not a number ≥ 0`);
    // the same ranges the API holds page views and visits to (resolvers/events.ts)
    if ((k === 6 || k === 7 || k === 9) && !isRate(x))
      throw new Error(`${name}: "${s}" is not in [0, 1]`);
    if (k >= 11 && k <= 14 && !isCode(x))
      throw new Error(`${name}: "${s}" is not an integer code ≥ 1`);
    return x;
  });
  return { features, visitorType, revenue: bool(fields[17] as string, 'Revenue') };
}
