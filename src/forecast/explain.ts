// Explanations for model forecasts. A recommended item is explained by (a) the scorer's terms
// (src/forecast/terms/: Markov successors, co-occurrence, quoting the recent events they read),
// (b) the past events the encoder attended to most *and* whose items lie close to it in
// embedding space (attention × cosine similarity), and (c) its categories that the
// next-category head expects.
import type { SequenceModel } from '../inference/model.js';
import { agoText, type ExplainedEvent, type ForecastReason } from './reasons.js';
import type { RecentItems, ScoringTerms } from './terms/index.js';

const MAX_EVENT_REASONS = 2;
const MIN_EVENT_WEIGHT = 0.01;

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
  model: SequenceModel,
  terms: ScoringTerms,
  candidate: { id: string; embedding: Float32Array; categoryIds: readonly string[] },
  events: readonly ExplainedEvent[],
  /** The newest events on items the model knows, newest first: those the terms read. */
  recent: RecentItems,
  eventWeights: Float32Array,
  categoryProbs: Float32Array,
): ForecastReason[] {
  const reasons = terms.explain(model.indexOf(candidate.id) ?? 0, events, recent);
  const eventReasons: ForecastReason[] = [];
  events.forEach((e, i) => {
    const attention = eventWeights[i] ?? 0;
    const emb = e.itemId === null ? undefined : model.knownItem(e.itemId)?.embedding;
    if (attention <= 0 || !emb) return;
    const similarity = cosine(emb, candidate.embedding);
    const weight = attention * Math.max(0, similarity);
    if (weight < MIN_EVENT_WEIGHT) return;
    eventReasons.push({
      kind: 'RECENT_EVENT',
      message: `close to {item} (${e.type.toLowerCase()}, ${agoText(events, i)}), which weighed in this forecast`,
      weight,
      eventIndex: i,
      eventId: e.eventId ?? null,
      categoryId: null,
    });
  });
  eventReasons.sort((a, b) => b.weight - a.weight);
  reasons.push(...eventReasons.slice(0, MAX_EVENT_REASONS));

  // Every category of the item the head expects: the list shows one per item, the strongest
  // not already shown higher up (forecast/reasons.ts), so lower items name a narrower one.
  for (const id of candidate.categoryIds) {
    const k = model.attributeIndexOf(id);
    const p = k === undefined ? 0 : (categoryProbs[k] ?? 0);
    if (p <= 0) continue;
    reasons.push({
      kind: 'CATEGORY_MATCH',
      message: `in {category}, which the model expects next (${(p * 100).toFixed(0)}%)`,
      weight: p,
      eventIndex: null,
      eventId: null,
      categoryId: id,
    });
  }
  return reasons;
}
