// Explanations for model forecasts. A recommended item is explained by (a) the past events
// the encoder attended to most *and* whose items lie close to it in embedding space
// (attention × cosine similarity), (b) its categories that the next-category head expects, and
// (c) the scorer's Markov and co-occurrence terms, quoting the recent events they read.
import type { Model } from '../inference/model.js';

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

export interface ExplainedEvent {
  itemId: string | null;
  type: string;
  eventId?: string;
}

const MAX_EVENT_REASONS = 2;
const MIN_EVENT_WEIGHT = 0.01;

/** How far back an event is, in words. */
function agoText(events: readonly unknown[], i: number): string {
  const ago = events.length - 1 - i;
  return ago === 0 ? 'the latest event' : `${ago} event${ago === 1 ? '' : 's'} before the latest`;
}

/**
 * FOLLOWS_LATEST / FOLLOWS_RECENT: the scorer's Markov term, when the candidate ever followed
 * the item of event `i`, the `k`-th newest known event (0 = the latest).
 */
function follows(
  model: Model,
  itemId: string,
  events: readonly ExplainedEvent[],
  i: number,
  k: number,
): ForecastReason | null {
  const from = events[i];
  const t = from?.itemId ? model.transitionOf(from.itemId, itemId) : null;
  if (!from || !t || t.count === 0) return null;
  return {
    kind: k === 0 ? 'FOLLOWS_LATEST' : 'FOLLOWS_RECENT',
    message:
      `came directly after ${from.itemId} (${agoText(events, i)}) ${t.count} time${t.count === 1 ? '' : 's'} ` +
      `in the model's training histories, ${((100 * t.count) / t.out).toFixed(1)}% of what followed it`,
    weight: t.count / t.out,
    eventIndex: i,
    eventId: from.eventId ?? null,
    categoryId: null,
  };
}

/**
 * OFTEN_TOGETHER: the scorer's co-occurrence term, from the recent item whose decayed
 * contribution `decay^k * S[h_k, candidate]` to the candidate's input is the largest (the
 * newest on ties); weight = S relative to that item's strongest stored neighbour (1 for it: a
 * table with sequential rules can hold values above 1). Null when no item the term reads has the
 * candidate among its stored neighbours (or the model has no such term).
 */
function oftenTogether(
  model: Model,
  itemId: string,
  events: readonly ExplainedEvent[],
  recent: readonly number[],
): ForecastReason | null {
  const decay = model.manifest.scorer?.cooccurrence?.decay ?? 1;
  let best: { i: number; s: number; x: number } | null = null;
  let w = 1;
  for (let k = 0; k < Math.min(model.cooccurrenceWindow, recent.length); k++, w *= decay) {
    const i = recent[k] as number;
    const from = events[i]?.itemId;
    const s = from ? model.cooccurrenceOf(from, itemId) : null;
    if (s && s > 0 && (!best || w * s > best.x)) best = { i, s, x: w * s };
  }
  if (!best) return null;
  const from = events[best.i] as ExplainedEvent;
  const strongest = model.strongestCooccurrence(from.itemId as string) ?? best.s;
  const sequential = model.manifest.scorer?.cooccurrence?.sequential;
  return {
    kind: 'OFTEN_TOGETHER',
    message:
      `shoppers who had ${from.itemId} (${agoText(events, best.i)}) in their history often also ` +
      (sequential
        ? `had this one, or got it within ${sequential.maxGap} purchases after it: affinity `
        : `had this one: co-occurrence similarity `) +
      `${best.s.toFixed(3)} in the model's training histories`,
    weight: best.s / strongest,
    eventIndex: best.i,
    eventId: from.eventId ?? null,
    categoryId: null,
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

export function explainItem(
  model: Model,
  candidate: { id: string; embedding: Float32Array; categoryIds: readonly string[] },
  events: readonly ExplainedEvent[],
  /**
   * Indices in `events` of the newest events on items the model knows, newest first: those
   * the scorer's Markov and co-occurrence terms read (Model.recentKnownIndices).
   */
  recent: readonly number[],
  eventWeights: Float32Array,
  categoryProbs: Float32Array,
): ForecastReason[] {
  const reasons: ForecastReason[] = [];
  for (let k = 0; k < Math.min(model.markovItems, recent.length); k++) {
    const reason = follows(model, candidate.id, events, recent[k] as number, k);
    if (reason) reasons.push(reason);
  }
  const together = oftenTogether(model, candidate.id, events, recent);
  if (together) reasons.push(together);
  const eventReasons: ForecastReason[] = [];
  events.forEach((e, i) => {
    const attention = eventWeights[i] ?? 0;
    const emb = e.itemId === null ? undefined : model.learnedEmbedding(e.itemId);
    if (attention <= 0 || !emb) return;
    const similarity = cosine(emb, candidate.embedding);
    const weight = attention * Math.max(0, similarity);
    if (weight < MIN_EVENT_WEIGHT) return;
    eventReasons.push({
      kind: 'RECENT_EVENT',
      message:
        `${e.type.toLowerCase()} of ${e.itemId} (${agoText(events, i)}): ` +
        `attention ${attention.toFixed(2)}, similarity ${similarity.toFixed(2)}`,
      weight,
      eventIndex: i,
      eventId: e.eventId ?? null,
      categoryId: null,
    });
  });
  eventReasons.sort((a, b) => b.weight - a.weight);
  reasons.push(...eventReasons.slice(0, MAX_EVENT_REASONS));

  let best: { id: string; p: number } | undefined;
  for (const id of candidate.categoryIds) {
    const k = model.attributeIndex.get(id);
    const p = k === undefined ? 0 : (categoryProbs[k] ?? 0);
    if (p > 0 && (!best || p > best.p)) best = { id, p };
  }
  if (best) {
    reasons.push({
      kind: 'CATEGORY_MATCH',
      message: `in category ${best.id}, which the model gives ${(best.p * 100).toFixed(1)}% as the next category`,
      weight: best.p,
      eventIndex: null,
      eventId: null,
      categoryId: best.id,
    });
  }
  return reasons;
}
