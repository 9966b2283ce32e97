// interestForecast on Query, User and Session: validates arguments into an engine request and
// resolves it through the per-request forecast loader.
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { Context } from '../context.js';
import {
  MAX_CATEGORIES,
  subjectDataset,
  type Forecast,
  type ForecastRequest,
  type RepeatPolicy,
  type ForecastSubject,
} from '../forecast/forecast.js';
import {
  MAX_DIVERSITY_POOL,
  MAX_EXPLORATION_POOL,
  type ServingPolicy,
} from '../exploration/policy.js';
import type {
  DiversityInput,
  ExplorationInput,
  ForecastContext as ForecastContextArg,
  ForecastFilter as ForecastFilterArg,
  ForecastMode,
  Resolvers,
} from '../generated/graphql.js';
import type { ItemRow } from '../db/items.js';
import { forecastOutcomes } from '../db/outcomes.js';
import type { PageViewRecord } from '../intent/features.js';
import { ErrorCode } from '../errors.js';
import { badUserInput, codedError } from '../errors.js';
import { found } from './input-checks.js';
import { lookupId, oneDataset, type OneDataset } from '../input-rules.js';
import { toPageView } from './events.js';

export const MAX_FORECAST_ITEMS = 100;
export const MAX_ANONYMOUS_EVENTS = 200;

export interface ForecastArgs {
  first?: number | null;
  filter?: ForecastFilterArg | null;
  explain?: boolean | null;
  mode?: ForecastMode | null;
  context?: ForecastContextArg | null;
  exploration?: ExplorationInput | null;
  diversity?: DiversityInput | null;
}

/** The serving policy of the arguments, checked (exploration/policy.ts). */
function toPolicy(first: number, args: ForecastArgs): ServingPolicy {
  const e = args.exploration;
  const d = args.diversity;
  const explorationPool = e?.pool ?? 50;
  const diversityPool = d?.pool ?? Math.max(50, first);
  if (e) {
    if (!(e.epsilon >= 0 && e.epsilon <= 1))
      throw badUserInput('exploration.epsilon', `must be between 0 and 1, got ${e.epsilon}`);
    if (
      !Number.isInteger(explorationPool) ||
      explorationPool < 1 ||
      explorationPool > MAX_EXPLORATION_POOL
    )
      throw badUserInput(
        'exploration.pool',
        `must be between 1 and ${MAX_EXPLORATION_POOL}, got ${explorationPool}`,
      );
  }
  if (d) {
    if (d.lambda != null && !(d.lambda >= 0 && d.lambda <= 1))
      throw badUserInput('diversity.lambda', `must be between 0 and 1, got ${d.lambda}`);
    if (d.maxPerCategory != null && (!Number.isInteger(d.maxPerCategory) || d.maxPerCategory < 1))
      throw badUserInput('diversity.maxPerCategory', `must be ≥ 1, got ${d.maxPerCategory}`);
    if (
      !Number.isInteger(diversityPool) ||
      diversityPool < first ||
      diversityPool > MAX_DIVERSITY_POOL
    )
      throw badUserInput(
        'diversity.pool',
        `must be between first (${first}) and ${MAX_DIVERSITY_POOL}, got ${diversityPool}`,
      );
  }
  return {
    exploration: e && e.epsilon > 0 ? { epsilon: e.epsilon, pool: explorationPool } : null,
    diversity:
      d && (d.lambda != null || d.maxPerCategory != null)
        ? {
            lambda: d.lambda ?? null,
            maxPerCategory: d.maxPerCategory ?? null,
            pool: diversityPool,
          }
        : null,
    seed: e?.seed ?? null,
  };
}

function toRequest(
  subject: ForecastSubject,
  args: ForecastArgs,
  ctx: Context,
  info?: GraphQLResolveInfo,
  ids?: OneDataset,
): ForecastRequest {
  const first = args.first ?? 10;
  if (!Number.isInteger(first) || first < 1 || first > MAX_FORECAST_ITEMS) {
    throw badUserInput('first', `must be between 1 and ${MAX_FORECAST_ITEMS}, got ${first}`);
  }
  const f = args.filter ?? {};
  const minPrice = f.minPrice ?? null;
  const maxPrice = f.maxPrice ?? null;
  if (minPrice !== null && minPrice < 0) throw badUserInput('filter.minPrice', 'must be ≥ 0');
  if (maxPrice !== null && maxPrice < 0) throw badUserInput('filter.maxPrice', 'must be ≥ 0');
  if (minPrice !== null && maxPrice !== null && maxPrice < minPrice) {
    throw badUserInput('filter.maxPrice', `must be ≥ filter.minPrice (${minPrice})`);
  }
  // The ids a forecast names are of one dataset: its subject's (Query.interestForecast checks
  // the subject's first) and those of its context and filter.
  const datasets = ids ?? oneDataset();
  if (args.context?.itemId != null) lookupId('context.itemId', args.context.itemId, datasets);
  if (args.context?.categoryId != null)
    lookupId('context.categoryId', args.context.categoryId, datasets);
  (f.categoryIds ?? []).forEach((c, k) => lookupId(`filter.categoryIds[${k}]`, c, datasets));
  const context =
    args.context && (args.context.itemId != null || args.context.categoryId != null)
      ? { itemId: args.context.itemId ?? null, categoryId: args.context.categoryId ?? null }
      : null;
  const repeatPolicy = repeatPolicyOf(
    f.excludeSeen ?? null,
    ctx.serving?.lease.seenItemsDefault(subjectDataset(subject, context)) ?? null,
  );
  return {
    subject,
    first,
    policy: toPolicy(first, args),
    explain: args.explain ?? false,
    context,
    mode: args.mode ?? (ctx.config.forecastMode === 'popularity' ? 'POPULARITY' : 'MODEL'),
    filter: {
      categoryIds: f.categoryIds && f.categoryIds.length > 0 ? [...f.categoryIds].sort() : null,
      minPrice,
      maxPrice,
      inStockOnly: f.inStockOnly ?? true,
      excludePurchased: f.excludePurchased ?? true,
      excludeSeen: repeatPolicy.seenItems === 'EXCLUDED',
    },
    repeatPolicy,
    // Purchase intent costs a statement and a model call: only when the query asks for it.
    intent: info === undefined || selectsAny(info, INTENT_FIELDS),
  };
}

/**
 * The forecast's repeat policy: the request's `filter.excludeSeen` when given, else the serving
 * model's default (with the repeat share its training measured), else allowed.
 */
function repeatPolicyOf(
  requested: boolean | null,
  model: { exclude: boolean; repeatShare: number | null } | null,
): RepeatPolicy {
  const exclude = requested ?? model?.exclude ?? false;
  return {
    seenItems: exclude ? 'EXCLUDED' : 'ALLOWED',
    source: requested !== null ? 'REQUEST' : model ? 'MODEL' : 'DEFAULT',
    repeatShare: model?.repeatShare ?? null,
  };
}

/** The InterestForecast fields that need the visit's purchase intent. */
const INTENT_FIELDS = new Set(['purchaseIntent', 'purchaseProbability']);

/** Whether a selection of the resolved field asks for one of `names` (through fragments too). */
function selectsAny(info: GraphQLResolveInfo, names: ReadonlySet<string>): boolean {
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).some((sel) => {
      if (sel.kind === Kind.FIELD) return names.has(sel.name.value);
      if (sel.kind === Kind.INLINE_FRAGMENT) return walk(sel.selectionSet);
      const name = sel.name.value;
      if (seen.has(name)) return false;
      seen.add(name);
      return walk(info.fragments[name]?.selectionSet);
    });
  return info.fieldNodes.some((node) => walk(node.selectionSet));
}

/** Whether every selection of the resolved field asks for `id` or `__typename` alone. */
function selectsIdOnly(info: GraphQLResolveInfo): boolean {
  return info.fieldNodes.every((node) =>
    (node.selectionSet?.selections ?? []).every(
      (s) => s.kind === Kind.FIELD && (s.name.value === 'id' || s.name.value === '__typename'),
    ),
  );
}

/**
 * The item's embedding as its dataset's serving model reads it (that model's embedding slot);
 * null when no model serves the dataset. Without any model: slot a, as stored.
 */
function servedEmbedding(
  item: ItemRow,
  ctx: Context,
): { source: ItemRow['embeddingSource']; version: string | null } | null {
  const slot = ctx.serving
    ? ctx.serving.lease.of(item.dataset)?.engine.embeddingSlot
    : ('a' as const);
  if (slot === undefined) return null;
  return slot === 'a'
    ? { source: item.embeddingSource, version: item.embeddingModelVersion }
    : { source: item.embeddingBSource, version: item.embeddingBModelVersion };
}

async function load(ctx: Context, request: ForecastRequest) {
  if (!ctx.serving) {
    throw codedError(ErrorCode.UNAVAILABLE, 'forecasts are unavailable: no model is loaded');
  }
  // Refusals (unknown subject, a full queue) are CodedErrors: answered as they are.
  const forecast = await ctx.serving.forecasts.load(request);
  return { ...forecast, repeatPolicy: request.repeatPolicy };
}

/**
 * The forecast of `subject` with the arguments a field takes (those of User.interestForecast,
 * the federated entities' fields included): validated into an engine request and batched.
 */
export function forecastOf(
  subject: ForecastSubject,
  args: ForecastArgs,
  ctx: Context,
  info?: GraphQLResolveInfo,
  ids?: OneDataset,
): Promise<Forecast> {
  return load(ctx, toRequest(subject, args, ctx, info, ids));
}

export const forecastResolvers: Resolvers = {
  ForecastOutcome: {
    clickThroughRate: (o) => (o.impressions > 0 ? o.clicks / o.impressions : null),
    purchaseRate: (o) => (o.impressions > 0 ? o.purchases / o.impressions : null),
  },
  Query: {
    forecastOutcomes: (_, { since, until }, { db }) =>
      forecastOutcomes(db, since ?? null, until ?? null),
    interestForecast: (_, args, ctx, info) => {
      const given = [args.userId, args.sessionId, args.recentEvents].filter((x) => x != null);
      if (given.length !== 1) {
        throw badUserInput(
          'userId',
          `give exactly one of userId, sessionId or recentEvents (got ${given.length})`,
        );
      }
      const ids = oneDataset();
      let subject: ForecastSubject;
      if (args.userId != null)
        subject = { kind: 'user', userId: lookupId('userId', args.userId, ids) };
      else if (args.sessionId != null)
        subject = { kind: 'session', sessionId: lookupId('sessionId', args.sessionId, ids) };
      else {
        const events = args.recentEvents ?? [];
        if (events.length > MAX_ANONYMOUS_EVENTS) {
          throw badUserInput(
            'recentEvents',
            `at most ${MAX_ANONYMOUS_EVENTS} events, got ${events.length}`,
          );
        }
        const pages = events.flatMap((e, i): PageViewRecord[] => {
          if (!e.page) return [];
          const page = toPageView(e.page, e.type, `recentEvents[${i}].page`);
          return [{ ...page, occurredAt: e.occurredAt ?? null }];
        });
        subject = {
          kind: 'anonymous',
          events: events.map((e, i) => ({
            itemId: e.itemId == null ? null : lookupId(`recentEvents[${i}].itemId`, e.itemId, ids),
            type: e.type,
            occurredAt: e.occurredAt ?? null,
          })),
          pages,
        };
      }
      return forecastOf(subject, args, ctx, info, ids);
    },
  },
  User: {
    interestForecast: (user, args, ctx, info) =>
      forecastOf({ kind: 'user', userId: user.id }, args, ctx, info),
  },
  Session: {
    interestForecast: (s, args, ctx, info) =>
      forecastOf({ kind: 'session', sessionId: s.id }, args, ctx, info),
  },
  InterestForecast: {
    policy: (f) => f.policy.key,
    categories: async (f, args, { loaders }) => {
      const first = args.first ?? 5;
      if (!Number.isInteger(first) || first < 1 || first > MAX_CATEGORIES) {
        throw badUserInput(
          'categories.first',
          `must be between 1 and ${MAX_CATEGORIES}, got ${first}`,
        );
      }
      // Categories the model knows but this database lacks (e.g. sequences imported without
      // their attributes file) are left out rather than failing the whole forecast. Only as
      // many rows as still needed are looked up (usually one round of `first`).
      const found: typeof f.categories = [];
      let next = 0;
      while (found.length < first && next < f.categories.length) {
        const round = f.categories.slice(next, next + first - found.length);
        next += round.length;
        const rows = await loaders.category.loadMany(round.map((c) => c.categoryId));
        round.forEach((c, k) => {
          if (rows[k] && !(rows[k] instanceof Error)) found.push(c);
        });
      }
      return found;
    },
  },
  Item: {
    embeddingSource: (item, _, ctx) => {
      const source = servedEmbedding(item, ctx)?.source;
      return source === 'model' ? 'MODEL' : source === 'content' ? 'CONTENT' : null;
    },
    embeddingModelVersion: (item, _, ctx) => servedEmbedding(item, ctx)?.version ?? null,
  },
  ScoredItem: {
    item: async (it, _, { loaders }, info) => {
      // A forecast's items are catalogue rows its own batch just read (the nearest neighbours,
      // the checked included items, the popularity ranking), and the API deletes no item: a
      // selection of `id` alone is answered without looking the row up again. No other field
      // of Item is selected then, so none reads the missing columns.
      if (selectsIdOnly(info)) return { id: it.itemId } as ItemRow;
      const row = await loaders.item.load(it.itemId);
      if (!row) throw codedError(ErrorCode.NOT_FOUND, `item ${it.itemId} no longer exists`);
      return row;
    },
  },
  ForecastReason: {
    event: (r, _, { loaders }) => (r.eventId ? loaders.event.load(r.eventId) : null),
    inputIndex: (r) => (r.eventId === null ? r.eventIndex : null),
    category: (r, _, { loaders }) => (r.categoryId ? loaders.category.load(r.categoryId) : null),
  },
  CategoryProbability: {
    category: (c, _, { loaders }) =>
      found(loaders.category.load(c.categoryId), `category ${c.categoryId}`),
  },
};
