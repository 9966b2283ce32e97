/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
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

/** Which engine produces a forecast. */
export type ForecastMode =
  /** The trained sequence model: pgvector retrieval, then exact re-scoring by the model. */
  | 'MODEL'
  /** Most-interacted items of the subject's dataset: a baseline to compare against. */
  | 'POPULARITY';

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

export type DashboardShopperQueryVariables = Exact<{
  u: string | number;
}>;


export type DashboardShopperQuery = { user: { id: string, dataset: string, events: { edges: Array<{ node: { sequence: number, type: EventType, occurredAt: string | null, item: { id: string, title: string | null, brand: string | null, categories: Array<{ name: string, parent: { name: string } | null }> } | null } }> }, interestTimeline: { buckets: Array<{ firstPosition: number, lastPosition: number, eventCount: number, categories: Array<{ share: number, category: { name: string } }> }> }, interestDrift: { score: number, migrating: boolean, gained: Array<{ change: number, category: { name: string } }>, lost: Array<{ change: number, category: { name: string } }> } | null, interestForecast: { id: string, modelVersion: string, mode: ForecastMode, strategy: ForecastStrategy, strategyDetail: string | null, basedOnEvents: number, executionProvider: string, items: Array<{ rank: number, score: number, item: { id: string, title: string | null, brand: string | null, categories: Array<{ name: string, parent: { name: string } | null }> }, reasons: Array<{ kind: ForecastReasonKind, message: string }> | null }>, categories: Array<{ probability: number, category: { id: string, name: string } }> } } | null };

export type DashboardUsersQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardUsersQuery = { users: { edges: Array<{ node: { id: string } }> } };

export type DashboardProductFragment = { id: string, title: string | null, brand: string | null, categories: Array<{ name: string, parent: { name: string } | null }> };

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
export const DashboardProductFragmentDoc = new TypedDocumentString(`
    fragment DashboardProduct on Item {
  id
  title
  brand
  categories {
    name
    parent {
      name
    }
  }
}
    `, {"fragmentName":"DashboardProduct"}) as unknown as TypedDocumentString<DashboardProductFragment, unknown>;
export const DashboardShopperDocument = new TypedDocumentString(`
    query DashboardShopper($u: ID!) {
  user(id: $u) {
    id
    dataset
    events(first: 10) {
      edges {
        node {
          sequence
          type
          occurredAt
          item {
            ...DashboardProduct
          }
        }
      }
    }
    interestTimeline(bucket: EVENTS, size: 5) {
      buckets {
        firstPosition
        lastPosition
        eventCount
        categories(first: 3) {
          share
          category {
            name
          }
        }
      }
    }
    interestDrift(recent: 5) {
      score
      migrating
      gained(first: 3) {
        change
        category {
          name
        }
      }
      lost(first: 3) {
        change
        category {
          name
        }
      }
    }
    interestForecast(first: 10, explain: true) {
      id
      modelVersion
      mode
      strategy
      strategyDetail
      basedOnEvents
      executionProvider
      items {
        rank
        score
        item {
          ...DashboardProduct
        }
        reasons {
          kind
          message
        }
      }
      categories(first: 8) {
        probability
        category {
          id
          name
        }
      }
    }
  }
}
    fragment DashboardProduct on Item {
  id
  title
  brand
  categories {
    name
    parent {
      name
    }
  }
}`) as unknown as TypedDocumentString<DashboardShopperQuery, DashboardShopperQueryVariables>;
export const DashboardUsersDocument = new TypedDocumentString(`
    query DashboardUsers {
  users(first: 20) {
    edges {
      node {
        id
      }
    }
  }
}
    `) as unknown as TypedDocumentString<DashboardUsersQuery, DashboardUsersQueryVariables>;