// The forecast pipeline over a merged batch of requests:
//   subjects' events → encoder → pgvector candidates → scorer → top items, categories,
//   explanations → stored forecasts.
// Every stage handles the whole batch at once: 50 forecasts cost one encoder call, one scorer
// call and a constant number of SQL statements.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/client.js';
import { ErrorCode } from '../error-codes.js';
import { datasetOf } from '../db/events.js';
import {
  insertForecasts,
  subjectHistories,
  type ForecastRecord,
  type SubjectEventRow,
} from '../db/forecasts.js';
import type { EncoderOutput, Model, SequenceEvent } from '../inference/model.js';
import { ForecastBatcher, type BatcherOptions } from './batcher.js';
import {
  addIncluded,
  nearestNeighbours,
  servedTop,
  type CandidateFilter,
  type CandidateQuery,
  type RetrievalOptions,
  type RetrievedItem,
} from '../retrieval/candidates.js';
import { writeItemEmbeddings } from '../retrieval/embeddings.js';
import type { EmbeddingSlot } from '../retrieval/slots.js';
import {
  rankingSources,
  serveFromSources,
  type ForecastContext,
  type ForecastStrategy,
} from './coldstart.js';
import type { PolicyCandidate } from '../exploration/diversity.js';
import {
  drawSeed,
  GREEDY,
  policyDepth,
  serveSlate,
  type PolicyLog,
  type ServingPolicy,
  type Slate,
} from '../exploration/policy.js';
import type { PageViewRecord } from '../intent/features.js';
import type { IntentModel } from '../intent/model.js';
import {
  intentFailed,
  NO_INTENT_MODEL,
  purchaseIntents,
  type IntentSubject,
  type PurchaseIntent,
} from '../intent/service.js';
import { explainItem } from './explain.js';
import type { ForecastReason } from './reasons.js';
import { bindTerms, type RecentItems, type ScoringTerms } from './terms/index.js';
import { reachable } from './terms/reachable.js';
import { PopularityRanking } from './popularity.js';

export type ForecastMode = 'MODEL' | 'POPULARITY';

export type ForecastSubject =
  | { kind: 'user'; userId: string }
  | { kind: 'session'; sessionId: string }
  | {
      kind: 'anonymous';
      events: readonly SequenceEvent[];
      /** The page views among `events` (purchase intent reads them). */
      pages?: readonly PageViewRecord[];
    };

export interface ForecastFilter extends CandidateFilter {
  excludePurchased: boolean;
  excludeSeen: boolean;
}

export interface ForecastRequest {
  subject: ForecastSubject;
  first: number;
  filter: ForecastFilter;
  explain: boolean;
  mode: ForecastMode;
  /** What the visitor is looking at: its item joins the model's input as the newest VIEW. */
  context: ForecastContext | null;
  /** How the slate is chosen from the scored items (exploration/policy.ts); default greedy. */
  policy?: ServingPolicy;
}

export interface ForecastItem {
  itemId: string;
  rank: number;
  score: number;
  /** Probability that the serving policy showed this item at this rank (1 when greedy). */
  propensity: number;
  /** Drawn from the exploration pool rather than the greedy slate. */
  explored: boolean;
  reasons: ForecastReason[] | null;
}

export interface CategoryShare {
  categoryId: string;
  probability: number;
}

export interface Forecast {
  id: string;
  modelVersion: string;
  mode: ForecastMode;
  /** Which path served it: the model, or which fallback (forecast/coldstart.ts). */
  strategy: ForecastStrategy;
  strategyDetail: string | null;
  /** The serving policy as stored with the forecast (exploration/policy.ts). */
  policy: PolicyLog;
  generatedAt: Date;
  basedOnEvents: number;
  items: ForecastItem[];
  /** Most likely first, at most MAX_CATEGORIES. */
  categories: CategoryShare[];
  /** The intent model's probability when it has one, else the sequence model's purchase head. */
  purchaseProbability: number | null;
  /** The purchase-intent model's answer (intent/service.ts), or why there is none. */
  purchaseIntent: PurchaseIntent;
  executionProvider: string;
  timing: { queueMs: number; inferenceMs: number; retrievalMs: number; batchSize: number };
  /** The stored events the forecast used (oldest first); null for anonymous visitors. */
  events: SubjectEventRow[] | null;
}

/** A request the engine cannot serve because of its input (maps to a client error). */
export class ForecastInputError extends Error {
  constructor(
    readonly code: typeof ErrorCode.NOT_FOUND | typeof ErrorCode.BAD_USER_INPUT,
    message: string,
  ) {
    super(message);
    this.name = 'ForecastInputError';
  }
}

export const POPULARITY_VERSION = 'popularity-baseline';
export const MAX_CATEGORIES = 50;
/** How far back "already purchased / seen" exclusions and the model input look. */
const HISTORY_LIMIT = 200;

/** Counters of one ONNX graph's calls (each call is one merged batch). */
export interface ModelCallStats {
  calls: number;
  items: number;
  ms: number;
}

interface Queued {
  request: ForecastRequest;
  enqueuedAt: number;
}

interface Resolved {
  request: ForecastRequest;
  dataset: string;
  events: readonly SequenceEvent[];
  rows: SubjectEventRow[] | null;
  userId: string | null;
  sessionId: string | null;
  profile: Record<string, unknown>;
  /** The last of `events` is the request's context item, not a stored or given event. */
  contextEvent: boolean;
}

export interface EngineOptions {
  batching: BatcherOptions;
  /**
   * `parallel`: statements a batch's candidate query is split over (default 1);
   * `cooccurrenceNeighbors`: stored co-occurrence neighbours per recent item (null or absent =
   * all).
   */
  retrieval: {
    candidates: number;
    efSearch: number;
    successors: number;
    cooccurrenceNeighbors?: number | null;
    parallel?: number;
  };
  /** The session-level purchase-intent model (models/intent); null or absent = none. */
  intent?: IntentModel | null;
  /** The item-embedding columns the model's vectors are in (retrieval/slots.ts; default a). */
  embeddingSlot?: EmbeddingSlot;
}

/**
 * The dataset of a forecast's subject, from its ids alone (they are namespaced `dataset:raw`,
 * db/events.ts datasetOf): the user's or the session's; for an anonymous visitor the context
 * item's (the newest event), else the newest event's item's, else the context category's; null
 * when nothing names one (the engine then takes its model's dataset).
 */
export function subjectDataset(
  subject: ForecastSubject,
  context: ForecastContext | null,
): string | null {
  if (subject.kind === 'user') return datasetOf(subject.userId);
  if (subject.kind === 'session') return datasetOf(subject.sessionId);
  const newest = [...subject.events].reverse().find((e) => e.itemId !== null)?.itemId;
  const id = context?.itemId ?? newest ?? context?.categoryId;
  return id == null ? null : datasetOf(id);
}

/**
 * Serves forecasts in merged batches. The batcher merges the DataLoader batches of
 * concurrent requests (dynamic batching: max batch size, max queue delay, bounded queue);
 * each merged batch then costs one encoder call, one scorer call, one retrieval statement
 * per distinct filter and a constant number of other statements, however many requests it
 * came from.
 */
export class ForecastEngine {
  readonly batcher: ForecastBatcher<Queued, Forecast | Error>;
  readonly modelCalls: { encoder: ModelCallStats; scorer: ModelCallStats } = {
    encoder: { calls: 0, items: 0, ms: 0 },
    scorer: { calls: 0, items: 0, ms: 0 },
  };
  readonly popularity: PopularityRanking;
  /** Where the model's item vectors are (retrieval/slots.ts). */
  readonly embeddingSlot: EmbeddingSlot;
  /** The scorer's terms (src/forecast/terms/), bound to the model. */
  readonly terms: ScoringTerms;

  constructor(
    private readonly db: Db,
    readonly model: Model,
    private readonly options: EngineOptions,
  ) {
    this.batcher = new ForecastBatcher((batch) => this.run(batch), options.batching);
    this.popularity = new PopularityRanking(db);
    this.embeddingSlot = options.embeddingSlot ?? 'a';
    this.terms = bindTerms(model);
  }

  /**
   * Queues a batch of requests; one result per request, an Error in place of a request that
   * failed on its input. Rejects with QueueFullError when the queue cannot take them.
   */
  forecast(requests: readonly ForecastRequest[]): Promise<(Forecast | Error)[]> {
    const enqueuedAt = performance.now();
    return this.batcher.submit(requests.map((request) => ({ request, enqueuedAt })));
  }

  /**
   * Embeds items of the model's catalogue right after a catalogue change, so a new product is
   * retrievable at once (content tower) rather than after the next restart.
   */
  async embedItems(q: Queryable, ids: readonly string[]): Promise<void> {
    const prefix = `${this.model.manifest.dataset}:`;
    const mine = ids.filter((id) => id.startsWith(prefix));
    if (mine.length > 0) await writeItemEmbeddings(q, this.model, mine, this.embeddingSlot);
  }

  private async timed<T>(
    stats: ModelCallStats,
    items: number,
    call: () => Promise<T>,
  ): Promise<{ value: T; ms: number }> {
    const t0 = performance.now();
    const value = await call();
    const ms = performance.now() - t0;
    stats.calls += 1;
    stats.items += items;
    stats.ms += ms;
    return { value, ms };
  }

  private async run(batch: readonly Queued[]): Promise<(Forecast | Error)[]> {
    const started = performance.now();
    const resolved = await this.resolveSubjects(batch.map((q) => q.request));
    const results: (Forecast | Error)[] = new Array(batch.length);
    const modelIdx: number[] = [];
    const popularIdx: number[] = [];
    resolved.forEach((r, i) => {
      if (r instanceof Error) results[i] = r;
      else if (r.request.mode === 'MODEL' && this.usableByModel(r)) modelIdx.push(i);
      else popularIdx.push(i);
    });
    const [modelOut, popularOut] = await Promise.all([
      this.forecastWithModel(modelIdx.map((i) => resolved[i] as Resolved)),
      this.forecastWithFallbacks(popularIdx.map((i) => resolved[i] as Resolved)),
    ]);
    modelIdx.forEach((i, k) => (results[i] = modelOut[k] as Forecast));
    popularIdx.forEach((i, k) => (results[i] = popularOut[k] as Forecast));
    await this.addPurchaseIntent(results, resolved);
    const records: ForecastRecord[] = [];
    results.forEach((f, i) => {
      if (f instanceof Error) return;
      f.timing.queueMs = started - (batch[i] as Queued).enqueuedAt;
      f.timing.batchSize = batch.length;
      records.push(toRecord(f, resolved[i] as Resolved));
    });
    await insertForecasts(this.db, records);
    return results;
  }

  /** Every forecast's purchase intent: one statement and one intent-model call per batch. */
  private async addPurchaseIntent(
    results: (Forecast | Error)[],
    resolved: readonly (Resolved | Error)[],
  ): Promise<void> {
    const ok = results.flatMap((f, i) => (f instanceof Error ? [] : [{ f, i }]));
    const subjects = ok.map(({ i }): IntentSubject => {
      const subject = (resolved[i] as Resolved).request.subject;
      if (subject.kind === 'anonymous') return { kind: 'anonymous', pages: subject.pages ?? [] };
      return subject.kind === 'session' ? subject : { kind: 'user' };
    });
    // Intent is an extra: when its statement or model fails, the forecasts are still served.
    const intents = await purchaseIntents(
      this.db,
      this.options.intent ?? null,
      subjects,
      new Date(),
    ).catch((err: unknown) => intentFailed(err, subjects.length));
    ok.forEach(({ f }, k) => {
      const intent = intents[k] as PurchaseIntent;
      f.purchaseIntent = intent;
      if (intent.probability !== null) f.purchaseProbability = intent.probability;
    });
  }

  /** How the candidates of `r` are retrieved (the same for every forecast of its group). */
  private retrievalOptions(r: Resolved): RetrievalOptions {
    return {
      dataset: r.dataset,
      limit: this.terms.reranks
        ? Math.max(this.options.retrieval.candidates, depth(r.request))
        : depth(r.request),
      efSearch: this.options.retrieval.efSearch,
      known: this.model,
      slot: this.embeddingSlot,
    };
  }

  private usableByModel(r: Resolved): boolean {
    return (
      r.dataset === this.model.manifest.dataset && r.events.some((e) => this.model.knows(e.itemId))
    );
  }

  private async resolveSubjects(
    requests: readonly ForecastRequest[],
  ): Promise<(Resolved | Error)[]> {
    const userIds = unique(
      requests.flatMap((r) => (r.subject.kind === 'user' ? [r.subject.userId] : [])),
    );
    const sessionIds = unique(
      requests.flatMap((r) => (r.subject.kind === 'session' ? [r.subject.sessionId] : [])),
    );
    const itemIds = unique(
      requests.flatMap((r) => [
        ...(r.subject.kind === 'anonymous'
          ? r.subject.events.flatMap((e) => (e.itemId ? [e.itemId] : []))
          : []),
        ...(r.context?.itemId ? [r.context.itemId] : []),
      ]),
    );
    const categoryIds = unique(
      requests.flatMap((r) => (r.context?.categoryId ? [r.context.categoryId] : [])),
    );
    const existing = (table: string, ids: string[]) =>
      ids.length
        ? this.db
            .query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1::text[])`, [ids])
            .then((r) => new Set(r.rows.map((x) => x.id)))
        : Promise.resolve(new Set<string>());
    const [users, sessions, knownItems, knownCategories] = await Promise.all([
      subjectHistories(this.db, 'user', userIds, HISTORY_LIMIT),
      subjectHistories(this.db, 'session', sessionIds, HISTORY_LIMIT),
      existing('items', itemIds),
      existing('categories', categoryIds),
    ]);
    return requests.map((request): Resolved | Error => {
      const s = request.subject;
      const ctx = request.context;
      if (ctx?.itemId && !knownItems.has(ctx.itemId))
        return new ForecastInputError(
          ErrorCode.BAD_USER_INPUT,
          `context.itemId: no item with id "${ctx.itemId}"`,
        );
      if (ctx?.categoryId && !knownCategories.has(ctx.categoryId))
        return new ForecastInputError(
          ErrorCode.BAD_USER_INPUT,
          `context.categoryId: no category with id "${ctx.categoryId}"`,
        );
      // The context item is what the visitor is looking at now: the newest event.
      const withContext = (events: readonly SequenceEvent[]) =>
        ctx?.itemId ? [...events, { itemId: ctx.itemId, type: 'VIEW', occurredAt: null }] : events;
      const contextEvent = Boolean(ctx?.itemId);
      if (s.kind === 'user' || s.kind === 'session') {
        const id = s.kind === 'user' ? s.userId : s.sessionId;
        const history = (s.kind === 'user' ? users : sessions).get(id);
        if (history === undefined)
          return new ForecastInputError(ErrorCode.NOT_FOUND, `no ${s.kind} with id "${id}"`);
        const rows = history.events;
        return {
          request,
          dataset: history.dataset,
          rows,
          events: withContext(
            rows.map((r) => ({ itemId: r.itemId, type: r.type, occurredAt: r.occurredAt })),
          ),
          userId: s.kind === 'user' ? id : (rows[0]?.userId ?? null),
          sessionId: s.kind === 'session' ? id : null,
          profile: history.profile,
          contextEvent,
        };
      }
      const missing = s.events.findIndex((e) => e.itemId !== null && !knownItems.has(e.itemId));
      if (missing >= 0) {
        return new ForecastInputError(
          ErrorCode.BAD_USER_INPUT,
          `recentEvents[${missing}].itemId: no item with id "${s.events[missing]?.itemId}"`,
        );
      }
      return {
        request,
        dataset: subjectDataset(s, ctx) ?? this.model.manifest.dataset,
        rows: null,
        events: withContext(s.events),
        userId: null,
        sessionId: null,
        profile: {},
        contextEvent,
      };
    });
  }

  private async forecastWithModel(batch: readonly Resolved[]): Promise<Forecast[]> {
    if (batch.length === 0) return [];
    const encoded = await this.timed(this.modelCalls.encoder, batch.length, () =>
      this.model.encode(batch.map((r) => r.events)),
    );
    // The newest events on items the model knows, newest first: the items the scorer's terms
    // read, in retrieval, scoring and explanations.
    const recent = batch.map((r) => this.terms.recent(r.events));

    // Per distinct filter (usually one for the whole batch): the nearest neighbours, split into
    // `retrieval.parallel` statements on as many pooled connections (one statement runs its
    // HNSW scans one after another on one PostgreSQL backend, the longest stage of a batch;
    // split, several cores share it), filters applied in the index scan. The liftable items
    // join them unchecked (with `prunesLiftable`, only those the neighbours leave reachable:
    // forecast/terms/reachable.ts); once scored, `servedTop` checks the filters of those that rank.
    const candidates: RetrievedItem[][] = new Array(batch.length);
    const retrievalMs: number[] = new Array(batch.length).fill(0);
    // `request`: the group's first; its dataset, filter and depth (the ranked items its policy
    // chooses from: `first` for greedy slates) are the group's.
    const groups = new Map<
      string,
      { request: ForecastRequest; options: RetrievalOptions; members: number[]; depth: number }
    >();
    batch.forEach((r, i) => {
      const ranked = depth(r.request);
      const key = JSON.stringify([r.dataset, r.request.filter, ranked]);
      const group = groups.get(key);
      if (group) group.members.push(i);
      else
        groups.set(key, {
          request: r.request,
          options: this.retrievalOptions(r),
          members: [i],
          depth: ranked,
        });
    });
    await Promise.all(
      [...groups.values()].map(async ({ request, options, members, depth: ranked }) => {
        const t = performance.now();
        const queries = members.map((i): CandidateQuery => ({
          userState: (encoded.value[i] as EncoderOutput).userState,
          exclude: exclusions(batch[i] as Resolved),
          // Items the terms can lift above the nearest neighbours, retrieved next to them
          // (docs/forecasts.md, "Why neighbours plus successors are enough").
          include: this.terms.lifts(recent[i] as RecentItems, this.options.retrieval),
        }));
        const lists = (
          await Promise.all(
            chunks(queries, this.options.retrieval.parallel ?? 1).map((part) =>
              nearestNeighbours(this.db, part, request.filter, options),
            ),
          )
        ).flat();
        if (this.terms.prunes) {
          queries.forEach((q, k) => {
            q.include = reachable(
              this.model,
              this.terms,
              recent[members[k] as number] as RecentItems,
              q.userState,
              q.include ?? [],
              lists[k] as RetrievedItem[],
              ranked,
            );
          });
        }
        addIncluded(lists, queries, null, options);
        const ms = performance.now() - t;
        members.forEach((i, k) => {
          candidates[i] = lists[k] ?? [];
          retrievalMs[i] = ms;
        });
      }),
    );

    const scored = await this.timed(this.modelCalls.scorer, batch.length, () =>
      this.model.score(
        batch.map((_, i) => {
          const out = encoded.value[i] as EncoderOutput;
          return {
            userState: out.userState,
            categoryProbs: out.categoryProbs,
            candidates: (candidates[i] ?? []).map((c) => ({
              itemId: c.id,
              embedding: c.embedding,
              attributeIds: c.categoryIds,
              index: c.modelIndex,
            })),
          };
        }),
        (candidates, width) => this.terms.feeds(recent, candidates, width),
      ),
    );

    // The servable items: each forecast's best `depth` that pass its filters, best first.
    const served: number[][] = new Array(batch.length);
    await Promise.all(
      [...groups.values()].map(async ({ request, options, members, depth: ranked }) => {
        const t = performance.now();
        const tops = await servedTop(
          this.db,
          members.map((i) => candidates[i] as RetrievedItem[]),
          members.map((i) => scored.value[i] as Float32Array),
          ranked,
          request.filter,
          options,
        );
        const ms = performance.now() - t;
        members.forEach((i, k) => {
          served[i] = tops[k] as number[];
          retrievalMs[i] = (retrievalMs[i] as number) + ms;
        });
      }),
    );

    return batch.map((r, i) => {
      const enc = encoded.value[i] as EncoderOutput;
      const explained = r.request.explain
        ? r.events.map((e, j) => ({ ...e, eventId: r.rows?.[j]?.id }))
        : [];
      const scores = scored.value[i] as Float32Array;
      const cands = candidates[i] ?? [];
      const ranked = served[i] as number[];
      const slate = chooseSlate(
        r.request,
        ranked.map((k) => {
          const c = cands[k] as RetrievedItem;
          return {
            id: c.id,
            score: scores[k] as number,
            categoryIds: c.categoryIds,
            embedding: c.embedding,
          };
        }),
      );
      const items = slate.slots.map((slot, rank) => {
        const k = ranked[slot.index] as number;
        const c = cands[k] as RetrievedItem;
        return {
          itemId: c.id,
          rank: rank + 1,
          score: scores[k] as number,
          propensity: slot.propensity,
          explored: slot.explored,
          reasons: r.request.explain
            ? explainItem(
                this.model,
                this.terms,
                c,
                explained,
                recent[i] as RecentItems,
                enc.eventWeights,
                enc.categoryProbs,
              )
            : null,
        };
      });
      // Served from the context item alone when no event of the subject's own is on a known item.
      const own = r.contextEvent ? r.events.slice(0, -1) : r.events;
      const fromContext = !own.some((e) => this.model.knows(e.itemId));
      return {
        id: randomUUID(),
        modelVersion: this.model.version,
        mode: 'MODEL' as const,
        strategy: fromContext ? ('CONTEXT_ITEM_MODEL' as const) : ('SEQUENCE_MODEL' as const),
        strategyDetail: fromContext
          ? `the sequence model from the context item ${r.request.context?.itemId} alone`
          : null,
        policy: slate.log,
        generatedAt: new Date(),
        // what the encoder saw: the newest maxLen events on items it knows
        basedOnEvents: Math.min(
          this.model.manifest.maxLen,
          r.events.filter((e) => this.model.knows(e.itemId)).length,
        ),
        items,
        categories: topCategories(this.model, enc.categoryProbs),
        purchaseProbability: enc.purchaseProbability,
        purchaseIntent: NO_INTENT_MODEL,
        executionProvider: this.model.provider,
        timing: {
          queueMs: 0, // set by run()
          inferenceMs: encoded.ms + scored.ms,
          retrievalMs: retrievalMs[i] as number,
          batchSize: batch.length,
        },
        events: r.rows,
      };
    });
  }

  /**
   * Subjects the model does not serve: the popularity baseline (`mode: POPULARITY`), or, for a
   * model forecast of a shopper the model cannot read, the cold-start chain of
   * forecast/coldstart.ts (context category, profile segment, dataset, catalogue, global).
   */
  private async forecastWithFallbacks(batch: readonly Resolved[]): Promise<Forecast[]> {
    return Promise.all(
      batch.map(async (r) => {
        const t0 = performance.now();
        const coldStart = r.request.mode === 'MODEL';
        const ranked = await serveFromSources(
          rankingSources(this.popularity, r.dataset, r.profile, r.request.context, coldStart),
          r.request.filter,
          new Set(exclusions(r)),
          depth(r.request),
        );
        const slate = chooseSlate(
          r.request,
          ranked.items.map(({ item: it }) => ({
            id: it.id,
            score: it.count,
            categoryIds: it.categoryIds,
            embedding: null,
          })),
        );
        const items = slate.slots.map((slot, rank) => {
          const { item: it, source } = ranked.items[slot.index] as (typeof ranked.items)[number];
          return {
            itemId: it.id,
            rank: rank + 1,
            score: it.count,
            propensity: slot.propensity,
            explored: slot.explored,
            reasons: r.request.explain
              ? [
                  {
                    kind: 'POPULAR' as const,
                    message: `${source.detail}: ${it.count} interactions with this item`,
                    weight: it.count / Math.max(1, source.snapshot.items[0]?.count ?? 1),
                    eventIndex: null,
                    eventId: null,
                    categoryId: null,
                  },
                ]
              : null,
          };
        });
        // A subject of a dataset without a model of its own (src/forecast/registry.ts).
        const unserved = coldStart && r.dataset !== this.model.manifest.dataset;
        return {
          id: randomUUID(),
          modelVersion: POPULARITY_VERSION,
          mode: 'POPULARITY' as const,
          strategy: ranked.strategy,
          strategyDetail: unserved
            ? `${ranked.detail}; no model serves dataset ${r.dataset}`
            : ranked.detail,
          policy: slate.log,
          generatedAt: new Date(),
          basedOnEvents: 0,
          items,
          categories: ranked.categories.slice(0, MAX_CATEGORIES),
          purchaseProbability: null,
          purchaseIntent: NO_INTENT_MODEL,
          executionProvider: 'none',
          timing: {
            queueMs: 0, // set by run()
            inferenceMs: 0,
            retrievalMs: performance.now() - t0,
            batchSize: batch.length,
          },
          events: r.rows,
        };
      }),
    );
  }

  close(): void {
    this.batcher.close();
  }
}

/** How many ranked items the request's serving policy chooses its slate from. */
function depth(request: ForecastRequest): number {
  return policyDepth(request.first, request.policy ?? GREEDY);
}

/** The request's slate from its servable items, best first (exploration/policy.ts). */
function chooseSlate(request: ForecastRequest, ranked: PolicyCandidate[]): Slate {
  const policy = request.policy ?? GREEDY;
  return serveSlate(ranked, request.first, policy, drawSeed(policy));
}

function exclusions(r: Resolved): string[] {
  const f = r.request.filter;
  if (!f.excludePurchased && !f.excludeSeen) return [];
  return unique(
    r.events.flatMap((e) =>
      e.itemId !== null && (f.excludeSeen || (f.excludePurchased && e.type === 'PURCHASE'))
        ? [e.itemId]
        : [],
    ),
  );
}

function topCategories(
  model: Model,
  probs: Float32Array,
): { categoryId: string; probability: number }[] {
  // The MAX_CATEGORIES largest by insertion into a short sorted list (most attributes fall
  // below its last entry at once), not a sort of every attribute per forecast. Ties keep the
  // lower index first, as the stable sort did.
  const top: number[] = [];
  for (let k = 1; k < probs.length; k++) {
    const p = probs[k] as number;
    if (top.length === MAX_CATEGORIES && p <= (probs[top[top.length - 1] as number] as number))
      continue;
    let at = top.length;
    while (at > 0 && (probs[top[at - 1] as number] as number) < p) at--;
    top.splice(at, 0, k);
    if (top.length > MAX_CATEGORIES) top.pop();
  }
  return top.map((k) => ({
    categoryId: model.attributeAt(k) as string,
    probability: probs[k] as number,
  }));
}

function toRecord(f: Forecast, r: Resolved): ForecastRecord {
  return {
    id: f.id,
    mode: f.mode,
    modelVersion: f.modelVersion,
    userId: r.userId,
    sessionId: r.sessionId,
    basedOnEvents: f.basedOnEvents,
    items: f.items.map(({ itemId, rank, score, propensity, explored }) => ({
      itemId,
      rank,
      score,
      propensity,
      explored,
    })),
    policy: f.policy,
    categories: f.categories.slice(0, 10),
    purchaseProbability: f.purchaseProbability,
    purchaseIntent:
      f.purchaseIntent.probability === null
        ? null
        : { modelVersion: f.purchaseIntent.modelVersion, source: f.purchaseIntent.source },
    strategy: f.strategy,
    createdAt: f.generatedAt,
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

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
