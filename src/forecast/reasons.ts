// What a forecast item's explanation is made of: the reasons the scoring terms
// (src/forecast/terms/) and the encoder's heads (src/forecast/explain.ts) give, and the rules
// that choose the few a person reads (selectReasons) and word them with names (nameReason).

export type ReasonKind =
  | 'RECENT_EVENT'
  | 'CATEGORY_MATCH'
  | 'FOLLOWS_LATEST'
  | 'FOLLOWS_RECENT'
  | 'OFTEN_TOGETHER'
  | 'POPULAR';

export interface ForecastReason {
  kind: ReasonKind;
  /**
   * What the reason says. As the terms and heads write it, `{item}` stands for the cited event's
   * item and `{category}` for the category; nameReason puts their names in.
   */
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

/** At most this many reasons per item, the strongest first. */
export const MAX_REASONS_PER_ITEM = 3;

/**
 * The weakest signal of each kind worth telling a person (weights as the schema describes
 * them); weaker ones are left out. Chosen on real Beauty shoppers (test/forecast/reasons.test.ts):
 * attention × similarity below 0.05 is an event the encoder barely read; a next-category
 * probability below 5% is one category among many; a successor below 2% of what followed an
 * item, or a co-occurrence below a tenth of that item's strongest, is noise of the table.
 */
export const MIN_REASON_WEIGHT: Record<ReasonKind, number> = {
  RECENT_EVENT: 0.05,
  CATEGORY_MATCH: 0.05,
  FOLLOWS_LATEST: 0.02,
  FOLLOWS_RECENT: 0.02,
  OFTEN_TOGETHER: 0.1,
  POPULAR: 0,
};

/**
 * Which reason speaks for an event cited twice: what the shop's history says of the product
 * (it followed, it was bought with) before the encoder's attention on it.
 */
const PRIORITY: Record<ReasonKind, number> = {
  FOLLOWS_LATEST: 3,
  FOLLOWS_RECENT: 3,
  OFTEN_TOGETHER: 2,
  RECENT_EVENT: 1,
  CATEGORY_MATCH: 0,
  POPULAR: 0,
};

/**
 * What a reason points at: the event it cites, else its category, else what it says (POPULAR:
 * the item's own interaction count, a fact of each item).
 */
function source(r: ForecastReason): string {
  return r.eventIndex !== null
    ? `event ${r.eventIndex}`
    : r.categoryId !== null
      ? `category ${r.categoryId}`
      : `says ${r.message}`;
}

/**
 * The reasons a list of items shows, item by item (best-ranked first): signals under
 * MIN_REASON_WEIGHT left out; per item one reason per cited event or category (a Markov
 * successor and the attention on the same purchase say one thing: PRIORITY, then weight) and
 * one category reason; a reason whose kind and source an item higher in the list already showed is not
 * repeated (a lower item names another of its categories instead, or shows nothing new: the
 * same sentence down a list tells a reader nothing); then the MAX_REASONS_PER_ITEM strongest.
 */
export function selectReasons(lists: readonly ForecastReason[][]): ForecastReason[][] {
  const shown = new Set<string>();
  return lists.map((reasons) => {
    const bySource = new Map<string, ForecastReason>();
    for (const r of reasons) {
      if (r.weight < MIN_REASON_WEIGHT[r.kind]) continue;
      const key = source(r);
      const held = bySource.get(key);
      const better =
        !held ||
        PRIORITY[r.kind] > PRIORITY[held.kind] ||
        (PRIORITY[r.kind] === PRIORITY[held.kind] && r.weight > held.weight);
      if (better) bySource.set(key, r);
    }
    let category = false;
    const fresh = [...bySource.values()]
      .sort((a, b) => b.weight - a.weight)
      .filter((r) => {
        if (shown.has(`${r.kind} ${source(r)}`)) return false;
        if (r.kind !== 'CATEGORY_MATCH') return true;
        return category ? false : (category = true);
      });
    const chosen = fresh.slice(0, MAX_REASONS_PER_ITEM);
    for (const r of chosen) shown.add(`${r.kind} ${source(r)}`);
    return chosen;
  });
}

/**
 * The reason with `{item}` and `{category}` worded: the cited event's item by its title (its id
 * when it has none), the category by its name.
 */
export function nameReason(
  r: ForecastReason,
  events: readonly ExplainedEvent[],
  names: { items: ReadonlyMap<string, string>; categories: ReadonlyMap<string, string> },
): ForecastReason {
  const itemId = r.eventIndex === null ? null : (events[r.eventIndex]?.itemId ?? null);
  const item = itemId === null ? 'an earlier item' : (names.items.get(itemId) ?? itemId);
  const category =
    r.categoryId === null ? '' : (names.categories.get(r.categoryId) ?? r.categoryId);
  return {
    ...r,
    message: r.message.replaceAll('{item}', item).replaceAll('{category}', category),
  };
}

/** How far back event `i` of `events` is, in words. */
export function agoText(events: readonly unknown[], i: number): string {
  const ago = events.length - 1 - i;
  return ago === 0 ? 'the latest event' : `${ago} event${ago === 1 ? '' : 's'} before the latest`;
}
