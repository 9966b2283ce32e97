// Interest evolution: timelines and drift on User and Session, trending items and categories.
import type { CategorisedHistory } from '../db/interests.js';
import { DRIFT, interestDrift } from '../evolution/distribution.js';
import { interestTimeline, type TimelineBucket } from '../evolution/timeline.js';
import { MAX_TREND_WINDOW_DAYS, type TrendRequest } from '../evolution/trends.js';
import type { Resolvers } from '../generated/graphql.js';
import type { Context } from '../context.js';
import { badUserInput, notFound } from '../errors.js';
import { checkLength } from '../input-rules.js';
import { found } from './input-checks.js';

const MAX_LIST = 50;

/** An integer argument in [min, max], or BAD_USER_INPUT naming it. */
function intArg(
  field: string,
  value: number | null | undefined,
  def: number,
  min: number,
  max: number,
) {
  const v = value ?? def;
  if (!Number.isInteger(v) || v < min || v > max)
    throw badUserInput(field, `must be an integer between ${min} and ${max}, got ${v}`);
  return v;
}

function timelineOf(
  history: CategorisedHistory | null,
  args: { bucket?: TimelineBucket | null; size?: number | null; last?: number | null },
  positionsBySeq: boolean,
) {
  const bucket = args.bucket ?? 'EVENTS';
  const size = intArg('size', args.size, 10, 1, 1000);
  const last = intArg('last', args.last, 12, 1, 100);
  if (!history) throw notFound('the user or session');
  // A user's `seq` is its place in the whole history; a session's events are numbered within it.
  const positions = history.events.map((e, i) => (positionsBySeq ? e.seq : i + 1));
  return interestTimeline(history.events, positions, bucket, size, last, history.truncated);
}

async function trendsOf(
  by: 'item' | 'category',
  args: {
    dataset: string;
    window?: number | null;
    first?: number | null;
    minSupport?: number | null;
    asOf?: string | null;
  },
  ctx: Context,
  defaultSupport: number,
) {
  checkLength('dataset', args.dataset);
  const req: TrendRequest = {
    dataset: args.dataset,
    window: intArg('window', args.window, 7, 1, MAX_TREND_WINDOW_DAYS),
    first: intArg('first', args.first, 10, 1, 100),
    minSupport: intArg('minSupport', args.minSupport, defaultSupport, 1, 1_000_000),
    asOf: args.asOf ?? null,
  };
  return ctx.trends.get(by, req);
}

export const evolutionResolvers: Resolvers = {
  Query: {
    trendingCategories: (_, args, ctx) => trendsOf('category', args, ctx, 10),
    trendingItems: (_, args, ctx) => trendsOf('item', args, ctx, 5),
  },
  User: {
    interestTimeline: async (user, args, { loaders }) =>
      timelineOf(await loaders.categorisedHistoryOfUser.load(user.id), args, true),
    interestDrift: async (user, args, { loaders }) => {
      const recent = intArg('recent', args.recent, DRIFT.recent, 1, 100);
      const threshold = args.threshold ?? DRIFT.threshold;
      if (!(threshold >= 0 && threshold <= 1))
        throw badUserInput('threshold', `must be between 0 and 1, got ${threshold}`);
      const history = await loaders.categorisedHistoryOfUser.load(user.id);
      return history ? interestDrift(history.events, recent, threshold) : null;
    },
  },
  Session: {
    interestTimeline: async (s, args, { loaders }) =>
      timelineOf(await loaders.categorisedHistoryOfSession.load(s.id), args, false),
  },
  InterestBucket: {
    categories: (b, args) =>
      b.categories.slice(0, intArg('categories.first', args.first, 5, 1, MAX_LIST)),
  },
  InterestDrift: {
    gained: (d, args) => d.gained.slice(0, intArg('gained.first', args.first, 5, 1, MAX_LIST)),
    lost: (d, args) => d.lost.slice(0, intArg('lost.first', args.first, 5, 1, MAX_LIST)),
  },
  CategoryShare: {
    category: (c, _, { loaders }) =>
      found(loaders.category.load(c.categoryId), `category ${c.categoryId}`),
  },
  CategoryShift: {
    category: (c, _, { loaders }) =>
      found(loaders.category.load(c.categoryId), `category ${c.categoryId}`),
  },
  Trending: {
    categories: (t) => (t.by === 'category' ? t.trends : null),
    items: (t) => (t.by === 'item' ? t.trends : null),
  },
  CategoryTrend: {
    category: (t, _, { loaders }) => found(loaders.category.load(t.id), `category ${t.id}`),
  },
  ItemTrend: {
    item: (t, _, { loaders }) => found(loaders.item.load(t.id), `item ${t.id}`),
  },
};
