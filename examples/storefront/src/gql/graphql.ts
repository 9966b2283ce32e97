/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** One event of an anonymous visitor, for forecasts without a stored user. */
export type AnonymousEventInput = {
  /** The item involved; omit for events without an item. */
  itemId?: string | number | null | undefined;
  /** When it happened (ISO-8601); omit when unknown. */
  occurredAt?: string | null | undefined;
  /** On a VIEW: the page view (see EventInput.page). */
  page?: PageViewInput | null | undefined;
  /** What the visitor did. */
  type: EventType;
};

/** An event reported by the shop. */
export type EventInput = {
  /**
   * Idempotency key chosen by the client, unique across all its events: a retried batch with the
   * same ids never stores an event twice.
   */
  clientEventId: string | number;
  /**
   * Feedback: the served forecast this event follows (a VIEW = a click on a recommendation, a
   * CART, a PURCHASE). `itemId` must be an item that forecast served, and the event's shopper
   * the forecast's (its user, or its session; forecasts of anonymous visitors take any shopper).
   * Otherwise the batch fails with BAD_USER_INPUT on `events[i].forecastId`.
   */
  forecastId?: string | number | null | undefined;
  /** The item acted on; required for VIEW, CART, PURCHASE and WISHLIST; must exist in the catalogue. */
  itemId?: string | number | null | undefined;
  /** When it happened; defaults to the time the gateway receives the batch. */
  occurredAt?: string | null | undefined;
  /**
   * On a VIEW: the page view's kind and time on page (what the purchase-intent model reads). A
   * VIEW with a page needs a sessionId; its itemId may be omitted for pages without an item.
   */
  page?: PageViewInput | null | undefined;
  /** Search text; required for SEARCH; at most 1,000 characters. */
  query?: string | null | undefined;
  /** The visit (created on first sight). At least one of userId and sessionId. */
  sessionId?: string | number | null | undefined;
  /** What happened. */
  type: EventType;
  /** The signed-in shopper (created on first sight). At least one of userId and sessionId. */
  userId?: string | number | null | undefined;
  /** Attributes of the event's visit, stored with its session (needs a sessionId). */
  visit?: VisitInput | null | undefined;
};

/**
 * What a shopper did. The Amazon review data records only purchases that were reviewed; they
 * are stored as PURCHASE.
 */
export type EventType =
  /** Put an item into the cart. */
  | 'CART'
  /** Bought an item (for Amazon data: bought and reviewed it). */
  | 'PURCHASE'
  /** Searched; `query` holds the search text (DIGINETICA: hashed tokens). */
  | 'SEARCH'
  /** Looked at an item's page. */
  | 'VIEW'
  /**
   * Put an item on a wishlist (a favourite, a "save for later"). Models trained before this type
   * existed read it as an unknown event type.
   */
  | 'WISHLIST';

/** Kinds of explanation. */
export type ForecastReasonKind =
  /** The item belongs to a category the model expects next. */
  | 'CATEGORY_MATCH'
  /**
   * The item often came directly after the shopper's latest item in the model's training data
   * (the scorer's first-order Markov term); `event` / `inputIndex` is that latest event.
   */
  | 'FOLLOWS_LATEST'
  /**
   * The item often came directly after another of the shopper's recent items (not the latest one)
   * in the model's training data: models whose Markov term reads several recent items
   * (`scorer.markovItems` in models/README.md). `event` / `inputIndex` is that event.
   */
  | 'FOLLOWS_RECENT'
  /**
   * Shoppers who had one of this shopper's recent items in their history often also had this one,
   * or (models whose table has sequential rules) got it within a few purchases after it (the
   * scorer's item co-occurrence term, `scorer.cooccurrence` in models/README.md): the recent item
   * whose decayed affinity with this one adds most to its score. `event` / `inputIndex` is that
   * recent item's event.
   */
  | 'OFTEN_TOGETHER'
  /** The item is among the most popular (baseline mode). */
  | 'POPULAR'
  /** A past event that weighed heavily in the forecast and points to this item. */
  | 'RECENT_EVENT';

/**
 * Which path served a forecast. The model serves every shopper with at least one event on an item
 * it knows (or a context item it knows); the others (no events yet, events only on items of another
 * dataset or unknown to the model) fall back along this chain, most specific first, each source
 * filling the slots the one before left empty (so a forecast is empty only when no item of the
 * dataset passes the filter). `mode: POPULARITY` starts at DATASET_POPULARITY.
 */
export type ForecastStrategy =
  /** The dataset's newest items: it has items but no interactions yet. */
  | 'CATALOGUE'
  /** Most interacted items of the context category (`context.categoryId`). */
  | 'CATEGORY_POPULARITY'
  /** The sequence model from the context item alone: the subject has no event it can read. */
  | 'CONTEXT_ITEM_MODEL'
  /** Most interacted items of the subject's dataset (the popularity baseline). */
  | 'DATASET_POPULARITY'
  /** Most interacted items of every dataset: the subject's dataset has no items at all. */
  | 'GLOBAL_POPULARITY'
  /**
   * Most interacted items among the dataset's shoppers with the same profile attributes: all the
   * shopper's scalar attributes together, else the single attribute with most interactions; a
   * segment needs 20 interactions to be used. `strategyDetail` names the segment.
   */
  | 'SEGMENT_POPULARITY'
  /** The sequence model from the subject's events (and the context item, when given). */
  | 'SEQUENCE_MODEL';

/** The kind of page a page view shows (the UCI Online Shoppers page groups). */
export type PageKind =
  /** Account, login, order and other administrative pages. */
  | 'ADMINISTRATIVE'
  /** About, contact, help and other informational pages. */
  | 'INFORMATIONAL'
  /** Product and category pages. */
  | 'PRODUCT';

/**
 * What a VIEW event records about the page when it is a page view: its kind, the seconds spent
 * on it, and the page-level metrics the shop's web analytics reports for that page (Google
 * Analytics' page value, bounce rate and exit rate), where it reports them.
 */
export type PageViewInput = {
  /** The page's bounce rate in the shop's analytics, 0–1. */
  bounceRate?: number | null | undefined;
  /** Seconds spent on the page, 0–86,400. */
  durationSeconds: number;
  /** The page's exit rate in the shop's analytics, 0–1. */
  exitRate?: number | null | undefined;
  kind: PageKind;
  /** The page's value in the shop's analytics (average revenue credited to it), ≥ 0. */
  value?: number | null | undefined;
};

/** Where a forecast's purchase probability came from. */
export type PurchaseIntentSource =
  /** Per-session aggregate features imported with the session (UCI import): no events behind them. */
  | 'AGGREGATE'
  /** The session's own page views (recorded events or `recentEvents`). */
  | 'EVENTS'
  /** No probability: see `reason`. */
  | 'NONE';

/**
 * Attributes of the visit (session) that the purchase-intent model reads, as codes of the shop's
 * own analytics (the UCI data set's are integers ≥ 1). Any may be omitted: an unknown code counts
 * as none. Sent with any event of the session; later values replace earlier ones.
 */
export type VisitInput = {
  browser?: number | null | undefined;
  operatingSystem?: number | null | undefined;
  region?: number | null | undefined;
  /** Closeness of the visit to a special shopping day, 0–1 (UCI SpecialDay); omitted: 0. */
  specialDay?: number | null | undefined;
  /** Traffic source code (e.g. the analytics' channel id). */
  trafficType?: number | null | undefined;
  /** Omitted: RETURNING when the session's user has an earlier session, else NEW. */
  visitorType?: VisitorType | null | undefined;
};

/** Whether the visitor has been here before (the UCI VisitorType). */
export type VisitorType =
  | 'NEW'
  | 'OTHER'
  | 'RETURNING';

export type TrackEventsMutationVariables = Exact<{
  events: Array<EventInput> | EventInput;
}>;


export type TrackEventsMutation = { recordEvents: { accepted: number, duplicates: number } };

export type StorefrontForecastQueryVariables = Exact<{
  userId: string | number;
  first?: number | null | undefined;
}>;


export type StorefrontForecastQuery = { interestForecast: { id: string, modelVersion: string, strategy: ForecastStrategy, items: Array<{ rank: number, score: number, item: { id: string, title: string | null, price: number | null }, reasons: Array<{ kind: ForecastReasonKind, message: string }> | null }>, categories: Array<{ probability: number, category: { id: string, name: string } }> } };

export type VisitorForecastQueryVariables = Exact<{
  events: Array<AnonymousEventInput> | AnonymousEventInput;
  first?: number | null | undefined;
}>;


export type VisitorForecastQuery = { interestForecast: { id: string, items: Array<{ rank: number, item: { id: string } }>, purchaseIntent: { probability: number | null, likely: boolean | null, source: PurchaseIntentSource, reason: string | null } } };

export type ItemDetailsQueryVariables = Exact<{
  id: string | number;
}>;


export type ItemDetailsQuery = { item: { id: string, title: string | null, brand: string | null, price: number | null, inStock: boolean, categories: Array<{ id: string, name: string }> } | null };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const TrackEventsDocument = new TypedDocumentString(`
    mutation TrackEvents($events: [EventInput!]!) {
  recordEvents(events: $events) {
    accepted
    duplicates
  }
}
    `, {"hash":"sha256:778b974621955092711509e8356f815f263cd1fd2ad7e4b6494ef9d7700d48a4"}) as unknown as TypedDocumentString<TrackEventsMutation, TrackEventsMutationVariables>;
export const StorefrontForecastDocument = new TypedDocumentString(`
    query StorefrontForecast($userId: ID!, $first: Int = 8) {
  interestForecast(userId: $userId, first: $first, explain: true) {
    id
    modelVersion
    strategy
    items {
      rank
      score
      item {
        id
        title
        price
      }
      reasons {
        kind
        message
      }
    }
    categories(first: 3) {
      probability
      category {
        id
        name
      }
    }
  }
}
    `, {"hash":"sha256:640607a0c90212a5e78629885976e4eba1f1f7311eecdabf0ceb56f603955b08"}) as unknown as TypedDocumentString<StorefrontForecastQuery, StorefrontForecastQueryVariables>;
export const VisitorForecastDocument = new TypedDocumentString(`
    query VisitorForecast($events: [AnonymousEventInput!]!, $first: Int = 8) {
  interestForecast(recentEvents: $events, first: $first) {
    id
    items {
      rank
      item {
        id
      }
    }
    purchaseIntent {
      probability
      likely
      source
      reason
    }
  }
}
    `, {"hash":"sha256:eb58ba717ec57a06d84ada6ca8975e8cc128518ca2238aa21ef0656d45f206ab"}) as unknown as TypedDocumentString<VisitorForecastQuery, VisitorForecastQueryVariables>;
export const ItemDetailsDocument = new TypedDocumentString(`
    query ItemDetails($id: ID!) {
  item(id: $id) {
    id
    title
    brand
    price
    inStock
    categories {
      id
      name
    }
  }
}
    `, {"hash":"sha256:6ad6b098eb3ed1c62ea2f8da699953ee73c23fee5c96e70e1447d40eed509680"}) as unknown as TypedDocumentString<ItemDetailsQuery, ItemDetailsQueryVariables>;