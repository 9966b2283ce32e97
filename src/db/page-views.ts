// What shops tell of a visit beside its events, as stored (sessions.visit, events.page) and
// read back in aggregate (db/intent.ts): page kinds, the visit's attributes, a summary of
// a session's page views. The purchase-intent features are computed from these (src/intent/).

export const PAGE_KINDS = ['ADMINISTRATIVE', 'INFORMATIONAL', 'PRODUCT'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];
export const VISITOR_TYPES = ['RETURNING', 'NEW', 'OTHER'] as const;
export type VisitorType = (typeof VISITOR_TYPES)[number];

/** A session's visit attributes (sessions.visit), codes of the shop's analytics. */
export interface Visit {
  visitorType?: VisitorType;
  trafficType?: number;
  operatingSystem?: number;
  browser?: number;
  region?: number;
  specialDay?: number;
}

/**
 * What the features need of a session's page views: counts and total seconds per kind, the
 * means of the page metrics over the pages that report them (null where none does), and the
 * time of the first page view. Computed by intent/features.ts for inline page views and by SQL for
 * stored ones (db/intent.ts), so a stored session of any length reads one row.
 */
export interface PageViewSummary {
  pages: Record<PageKind, number>;
  seconds: Record<PageKind, number>;
  bounceRate: number | null;
  exitRate: number | null;
  value: number | null;
  firstAt: Date | null;
}
