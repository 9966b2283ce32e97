// score: one scorer call for the whole batch: every forecast's candidates, with the inputs its
// terms add (src/forecast/terms/). A model with scorer.coldItems then scores the catalogue's cold
// items itself (forecast/cold-items.ts): the scorer call also scores, unserved, the items whose
// term addends their features inherit, and the best cold items join the candidates.
import type { EncoderOutput } from '../../inference/model.js';
import { innerProduct, type RetrievedItem } from '../../retrieval/candidates.js';
import type { ColdInputs, ColdPool, InnerProductsOf } from '../cold-items.js';
import type { RecentItems } from '../terms/index.js';
import {
  exclusions,
  rankedCount,
  timed,
  type ForecastJob,
  type ResolvedSubject,
  type StageContext,
} from './job.js';

/**
 * The model items whose term addends a forecast's cold scores read: those the scorer computes
 * (candidates, and `hidden` ones only a term without an exact addend touches: scored, not
 * served), and the rest's, computed here from the terms' exact addends.
 */
interface Inherited {
  needed: number[];
  hidden: number[];
  computed: Map<number, number>;
}

/** Returns the call's milliseconds (every forecast of the batch reports them). */
export async function score(ctx: StageContext, jobs: readonly ForecastJob[]): Promise<number> {
  const recent = jobs.map((j) => j.recent as RecentItems);
  const inherited = jobs.map((job) => inheritedItems(ctx, job));
  const { value, ms } = await timed(ctx.modelCalls.scorer, jobs.length, () =>
    ctx.model.score(
      jobs.map((job, b) => {
        const out = job.encoded as EncoderOutput;
        return {
          userState: out.userState,
          categoryProbs: out.categoryProbs,
          candidates: job.candidates
            .map((c) => ({
              itemId: c.id,
              embedding: c.embedding,
              attributeIds: c.categoryIds,
              index: c.modelIndex,
            }))
            .concat(
              (inherited[b]?.hidden ?? []).map((j) => {
                const item = ctx.model.itemAt(j);
                if (!item) throw new Error(`cold items: no model item at index ${j}`);
                return {
                  itemId: item.id,
                  embedding: item.embedding,
                  attributeIds: item.attributeIds,
                  index: j,
                };
              }),
            ),
        };
      }),
      (candidates, width) => ctx.terms.feeds(recent, candidates, width),
    ),
  );
  const batch = await coldBatch(ctx, jobs);
  jobs.forEach((job, i) => {
    const scores = value[i] ?? null;
    const inh = inherited[i];
    job.scores = scores && inh ? scoreCold(ctx, job, scores, inh, batch.get(job)) : scores;
  });
  return ms;
}

/**
 * The cold scores' matrix work for the whole batch (ColdItemScorer.prepare), per pool in ONNX
 * Runtime Gemm calls: every forecast's inner products with every cold row, and the cosines of
 * input items not yet cached.
 */
async function coldBatch(
  ctx: StageContext,
  jobs: readonly ForecastJob[],
): Promise<Map<ForecastJob, ColdInputs>> {
  const out = new Map<ForecastJob, ColdInputs>();
  const cold = ctx.cold;
  const exact = ctx.exact;
  if (!cold || !exact) return out;
  const byPool = new Map<ColdPool, ForecastJob[]>();
  for (const job of jobs) {
    if (!job.cold) continue;
    const list = byPool.get(job.cold.pool);
    if (list) list.push(job);
    else byPool.set(job.cold.pool, [job]);
  }
  const dim = ctx.model.manifest.dim;
  for (const [pool, members] of byPool) {
    const recents = members.map(
      (job) =>
        ctx.terms.recent((job.subject as ResolvedSubject).events, cold.spec.recentItems).items,
    );
    const states = new Float32Array(members.length * dim);
    members.forEach((job, b) => states.set((job.encoded as EncoderOutput).userState, b * dim));
    const products: InnerProductsOf = async (queries, items) =>
      (
        await timed(ctx.modelCalls.coldItems, members.length, () =>
          exact.retrieval.innerProducts(queries, items),
        )
      ).value;
    const inputs = await cold.prepare(pool, states, recents, products);
    members.forEach((job, b) => out.set(job, inputs[b] as ColdInputs));
  }
  return out;
}

/** null when the forecast has no cold items to score. */
function inheritedItems(ctx: StageContext, job: ForecastJob): Inherited | null {
  if (!ctx.cold || !job.cold) return null;
  const recent = job.recent as RecentItems;
  // every item a term can add to for this forecast: the rest add 0
  const touched = ctx.terms.lifts(recent, {
    successors: Number.MAX_SAFE_INTEGER,
    cooccurrenceNeighbors: null,
  });
  const needed = ctx.cold.needed(job.cold.pool, touched);
  const present = new Set<number>();
  for (const c of job.candidates) if (c.modelIndex !== undefined) present.add(c.modelIndex);
  const missing = needed.filter((j) => !present.has(j));
  // a term without an exact addend: only the scorer knows what it adds to the items it touches
  // (terms that read no recent items, the category term, are not inherited: see scoreCold)
  const sets = ctx.terms.list.flatMap((t) =>
    t.addend || t.recentItems === 0 ? [] : [t.touchedItems?.(recent) ?? null],
  );
  const scorerOnly = (j: number) => sets.some((set) => set === null || set.has(j));
  const hidden = missing.filter(scorerOnly);
  const rest = Int32Array.from(missing.filter((j) => !scorerOnly(j)));
  const computed = new Map<number, number>();
  if (rest.length > 0) {
    const sum = new Float64Array(rest.length);
    for (const t of ctx.terms.list) {
      if (!t.addend) continue;
      const a = t.addend(recent, rest);
      for (let n = 0; n < rest.length; n++) sum[n] = (sum[n] as number) + (a[n] as number);
    }
    rest.forEach((j, n) => computed.set(j, sum[n] as number));
  }
  return { needed, hidden, computed };
}

/**
 * The forecast's candidates become its warm candidates plus its best cold items (at most as many
 * as it ranks, filters and exclusions applied); returns their scores.
 */
function scoreCold(
  ctx: StageContext,
  job: ForecastJob,
  scores: Float32Array,
  { needed, hidden, computed }: Inherited,
  batch: ColdInputs | undefined,
): Float32Array {
  const cold = ctx.cold;
  const state = job.cold;
  if (!cold || !state) return scores;
  const { pool, passing } = state;
  const userState = (job.encoded as EncoderOutput).userState;
  const n = job.candidates.length;
  const at = new Map<number, number>();
  job.candidates.forEach((c, k) => {
    if (c.modelIndex !== undefined) at.set(c.modelIndex, k);
  });
  hidden.forEach((j, k) => at.set(j, n + k));
  const addends = new Map<number, number>(computed);
  const categoryProbs = (job.encoded as EncoderOutput).categoryProbs;
  const categoryWeight = ctx.model.manifest.scorer?.categoryWeight ?? 0;
  for (const j of needed) {
    if (computed.has(j)) continue;
    const k = at.get(j);
    const item = ctx.model.itemAt(j);
    if (k === undefined || !item) continue;
    // what the terms that read recent items add: the score less the inner product and the
    // category term (the neighbour's categories, not the cold item's)
    const category =
      categoryWeight === 0 ? 0 : categoryWeight * categoryLogp(ctx, categoryProbs, item);
    addends.set(j, (scores[k] as number) - innerProduct(item.embedding, userState) - category);
  }
  if (!batch) throw new Error('cold items: the batch did not prepare this forecast');
  const coldScores = cold.scores(pool, batch, addends);
  const excluded = new Set(exclusions(job));
  const best = topRows(
    coldScores,
    (r) => passing[r] === 1 && !excluded.has((pool.rows[r] as { id: string }).id),
    rankedCount(job.request),
  );
  const candidates: RetrievedItem[] = [];
  const out: number[] = [];
  job.candidates.forEach((c, k) => {
    if (c.modelIndex === undefined && pool.index.has(c.id)) return; // rescored below
    candidates.push(c);
    out.push(scores[k] as number);
  });
  for (const r of best) {
    const row = pool.rows[r] as (typeof pool.rows)[number];
    candidates.push({
      id: row.id,
      embedding: row.embedding,
      categoryIds: row.categoryIds,
      similarity: innerProduct(row.embedding, userState),
    });
    out.push(coldScores[r] as number);
  }
  job.candidates = candidates;
  return Float32Array.from(out);
}

/** The (at most) k rows r with `keep(r)` of the highest scores, best first (ties: lower r). */
function topRows(scores: Float64Array, keep: (r: number) => boolean, k: number): number[] {
  const top: number[] = [];
  if (k <= 0) return top;
  for (let r = 0; r < scores.length; r++) {
    const s = scores[r] as number;
    if (top.length === k && s <= (scores[top[k - 1] as number] as number)) continue;
    if (!keep(r)) continue;
    let p = top.length < k ? top.length : k - 1;
    while (p > 0 && (scores[top[p - 1] as number] as number) < s) {
      if (p < k) top[p] = top[p - 1] as number;
      p--;
    }
    top[p] = r;
  }
  return top;
}

/**
 * log(mean next-category probability of the item's attributes + 1e-6): scorer.onnx's category
 * term without its weight (models/README.md, `scorer.categoryWeight`).
 */
function categoryLogp(
  ctx: StageContext,
  probs: Float32Array,
  item: { attributeIds: readonly string[] },
): number {
  let sum = 0;
  let n = 0;
  for (const id of item.attributeIds) {
    const k = ctx.model.attributeIndexOf(id);
    if (k === undefined) continue;
    sum += probs[k] as number;
    n++;
  }
  return Math.log(sum / Math.max(n, 1) + 1e-6);
}
