// retrieve: each model forecast's candidates, per group of forecasts that share a dataset,
// filter and ranking length (usually the whole batch): the nearest neighbours of its user state in
// pgvector, filters applied in the index scan, plus the items its scorer's terms can lift above
// them (docs/forecasts.md, "Why neighbours plus successors are enough").
import type { EncoderOutput } from '../../inference/model.js';
import {
  addIncluded,
  nearestNeighbours,
  type CandidateQuery,
  type RetrievalOptions,
  type RetrievedItem,
} from '../../retrieval/candidates.js';
import type { ForecastFilter } from '../forecast.js';
import type { RecentItems } from '../terms/index.js';
import { reachable } from '../terms/reachable.js';
import {
  rankedCount,
  exclusions,
  timed,
  type ForecastJob,
  type StageContext,
  type ResolvedSubject,
} from './job.js';

/** Forecasts retrieved by one statement (split over `retrieval.parallel` connections). */
export interface RetrievalGroup {
  filter: ForecastFilter;
  options: RetrievalOptions;
  /** How many ranked items the group's policies choose from. */
  ranked: number;
  members: ForecastJob[];
}

/** Sets every job's `candidates` and `retrievalMs`; returns the groups (serve checks by them). */
export async function retrieve(
  ctx: StageContext,
  jobs: readonly ForecastJob[],
): Promise<RetrievalGroup[]> {
  const groups = new Map<string, RetrievalGroup>();
  for (const job of jobs) {
    const ranked = rankedCount(job.request);
    const key = JSON.stringify([
      (job.subject as ResolvedSubject).dataset,
      job.request.filter,
      ranked,
    ]);
    const group = groups.get(key);
    if (group) group.members.push(job);
    else
      groups.set(key, {
        filter: job.request.filter,
        options: retrievalOptions(ctx, job),
        ranked,
        members: [job],
      });
  }
  await Promise.all([...groups.values()].map((g) => retrieveGroup(ctx, g)));
  return [...groups.values()];
}

/**
 * Where the catalogue is small enough (`retrieval.exactMaxItems`), an exact scan in the gateway
 * (retrieval/exact.ts: the same lists as the index with `exact: true`); else one statement per
 * `retrieval.parallel` share of the group (one statement runs its HNSW scans
 * one after another on one PostgreSQL backend, the longest stage of a batch; split, several
 * cores share it). The lifted items join the neighbours unchecked (with `terms.prunes`, only
 * those the neighbours leave reachable: terms/reachable.ts); once scored, serve checks the
 * filters of those that rank.
 */
async function retrieveGroup(ctx: StageContext, group: RetrievalGroup): Promise<void> {
  const t = performance.now();
  const { members, filter, options } = group;
  const queries = members.map((job): CandidateQuery => ({
    userState: (job.encoded as EncoderOutput).userState,
    exclude: exclusions(job),
    include: ctx.terms.lifts(job.recent as RecentItems, ctx.retrieval),
  }));
  const exact = ctx.exact;
  const mirror = exact
    ? await exact.retrieval.current(exact.db, options.dataset, options.slot ?? 'a')
    : null;
  const lists =
    exact && mirror
      ? (
          await timed(ctx.modelCalls.exactTop, queries.length, () =>
            exact.retrieval.search(mirror, queries, filter, options.limit),
          )
        ).value
      : (
          await Promise.all(
            chunks(queries, ctx.retrieval.parallel ?? 1).map((part) =>
              nearestNeighbours(ctx.db, part, filter, options),
            ),
          )
        ).flat();
  // a model that scores cold items ranks every one of the catalogue's (score.ts)
  const cold =
    ctx.cold && exact && mirror && mirror.cold.length > 0
      ? {
          pool: await ctx.cold.pool(mirror.cold, (q, items, bias, k) =>
            exact.retrieval.topRows(q, items, bias, k),
          ),
          passing: exact.retrieval.coldPassing(mirror, filter),
        }
      : null;
  if (ctx.terms.prunes) {
    queries.forEach((q, k) => {
      const job = members[k] as ForecastJob;
      const neighbours = lists[k] as RetrievedItem[];
      q.include = reachable(
        ctx.model,
        ctx.terms,
        job.recent as RecentItems,
        q.userState,
        q.include ?? [],
        // cold items are scored apart, not by their inner product: no bound for the others
        cold ? neighbours.filter((c) => c.modelIndex !== undefined) : neighbours,
        group.ranked,
      );
    });
  }
  addIncluded(lists, queries, null, options);
  const ms = performance.now() - t;
  members.forEach((job, k) => {
    job.candidates = lists[k] ?? [];
    job.cold = cold;
    job.retrievalMs = ms;
  });
}

/** How the candidates of `job` are retrieved (the same for every forecast of its group). */
function retrievalOptions(ctx: StageContext, job: ForecastJob): RetrievalOptions {
  return {
    dataset: (job.subject as ResolvedSubject).dataset,
    limit: ctx.terms.reranks
      ? Math.max(ctx.retrieval.candidates, rankedCount(job.request))
      : rankedCount(job.request),
    efSearch: ctx.retrieval.efSearch,
    known: ctx.model,
    slot: ctx.embeddingSlot,
  };
}

/** `xs` in at most `parts` contiguous chunks of near-equal size. */
function chunks<T>(xs: readonly T[], parts: number): T[][] {
  const n = Math.max(1, Math.min(parts, xs.length));
  const size = Math.ceil(xs.length / n);
  return Array.from({ length: n }, (_, k) => xs.slice(k * size, (k + 1) * size)).filter(
    (c) => c.length > 0,
  );
}
