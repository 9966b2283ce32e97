// The purchase-intent model's input: the 17 raw features of the UCI Online Shoppers data set
// (Sakar et al., 2019), in the order models/intent/intent.json lists them. Serving computes
// them from a session's page views and visit attributes (`featuresFromPageViews`); the UCI
// import reads them from a CSV row (`featuresFromUciRow`). The exported model does its own
// preprocessing (log scales, standardisation, one-hot codes), so both feed raw values.

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

export const PAGE_KINDS = ['ADMINISTRATIVE', 'INFORMATIONAL', 'PRODUCT'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];
export const VISITOR_TYPES = ['RETURNING', 'NEW', 'OTHER'] as const;
export type VisitorType = (typeof VISITOR_TYPES)[number];

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

/** A session's visit attributes (sessions.visit), codes of the shop's analytics. */
export interface Visit {
  visitorType?: VisitorType;
  trafficType?: number;
  operatingSystem?: number;
  browser?: number;
  region?: number;
  specialDay?: number;
}

/** The model's VisitorType codes (UCI Returning_Visitor, New_Visitor, Other). */
const VISITOR_CODE: Record<VisitorType, number> = { RETURNING: 0, NEW: 1, OTHER: 2 };

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/**
 * The features of a session from its page views (oldest first) and visit: page counts and
 * total seconds per kind; BounceRates, ExitRates and PageValues as the mean over the pages
 * whose analytics reports them (0 where none does); Month and Weekend of the first page view
 * (UTC; `now` when no view has a time); the visit's codes (0 = unknown, which the model reads as
 * no category) and SpecialDay (0 when not sent); VisitorType as sent, else `defaultVisitor`.
 * Null without page views.
 */
export function featuresFromPageViews(
  pages: readonly PageViewRecord[],
  visit: Visit,
  defaultVisitor: VisitorType,
  now: Date,
): number[] | null {
  if (pages.length === 0) return null;
  const count = (k: PageKind) => pages.filter((p) => p.kind === k).length;
  const seconds = (k: PageKind) =>
    pages.filter((p) => p.kind === k).reduce((a, p) => a + p.durationSeconds, 0);
  const reported = (f: (p: PageViewRecord) => number | null) =>
    mean(pages.map(f).filter((x): x is number => x !== null));
  const at = pages.find((p) => p.occurredAt)?.occurredAt ?? now;
  const day = at.getUTCDay();
  return [
    count('ADMINISTRATIVE'),
    seconds('ADMINISTRATIVE'),
    count('INFORMATIONAL'),
    seconds('INFORMATIONAL'),
    count('PRODUCT'),
    seconds('PRODUCT'),
    reported((p) => p.bounceRate),
    reported((p) => p.exitRate),
    reported((p) => p.value),
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
    if (s.trim() === '' || !Number.isFinite(x) || x < 0)
      throw new Error(`${INTENT_FEATURES[k]}: "${s}" is not a number ≥ 0`);
    return x;
  });
  return { features, visitorType, revenue: bool(fields[17] as string, 'Revenue') };
}
