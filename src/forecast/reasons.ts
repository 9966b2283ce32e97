// What a forecast item's explanation is made of: the reasons the scoring terms
// (src/forecast/terms/) and the encoder's heads (src/forecast/explain.ts) give.

export type ReasonKind =
  | 'RECENT_EVENT'
  | 'CATEGORY_MATCH'
  | 'FOLLOWS_LATEST'
  | 'FOLLOWS_RECENT'
  | 'OFTEN_TOGETHER'
  | 'POPULAR';

export interface ForecastReason {
  kind: ReasonKind;
  message: string;
  /** In [0, 1]. */
  weight: number;
  /** Index into the subject's events (oldest first) for RECENT_EVENT, FOLLOWS_*, OFTEN_TOGETHER. */
  eventIndex: number | null;
  /** Stored event id for those kinds when the events came from the database. */
  eventId: string | null;
  categoryId: string | null;
}

/** One of the subject's events as an explanation quotes it. */
export interface ExplainedEvent {
  itemId: string | null;
  type: string;
  eventId?: string;
}

/** How far back event `i` of `events` is, in words. */
export function agoText(events: readonly unknown[], i: number): string {
  const ago = events.length - 1 - i;
  return ago === 0 ? 'the latest event' : `${ago} event${ago === 1 ? '' : 's'} before the latest`;
}
