// What the model tests ask of a model's scoring terms, by item id (src/forecast/terms/ works on
// model indices): the items each term lifts, its table entries, and scores with the terms'
// inputs built from a list of recent item ids, as the engine builds them from events.
import { Model, type ScorerInput } from '../../src/inference/model.js';
import { bindTerms, withTerms, type RecentItems } from '../../src/forecast/terms/index.js';
import type { CooccurrenceTerm } from '../../src/forecast/terms/cooccurrence.js';
import type { MarkovTerm } from '../../src/forecast/terms/markov.js';

/** A scorer row with the subject's newest known items by id, newest first. */
export interface TermScorerInput extends ScorerInput {
  recentItemIds: readonly string[];
}

export function termsOf(model: Model) {
  const terms = bindTerms(model);
  const named = (name: string) => terms.list.find((t) => t.name === name);
  const markov = named('markov') as MarkovTerm | undefined;
  const cooc = named('cooccurrence') as CooccurrenceTerm | undefined;
  const cooccurrenceOn = cooc !== undefined && model.manifest.scorer?.cooccurrence?.weight !== 0;
  /** Recent items by id; an id the model does not know is an empty slot. */
  const recentOf = (ids: readonly string[]): RecentItems => ({
    events: ids.map((_, k) => k),
    items: ids.map((id) => model.indexOf(id) ?? 0),
  });
  const idsOf = (indices: readonly number[]) => indices.map((k) => model.itemAt(k)!.id);
  return {
    terms,
    scorerReranks: terms.reranks,
    markovItems: markov?.recentItems ?? 0,
    cooccurrenceWindow: cooc?.recentItems ?? 0,
    recentItemsRead: terms.recentItems,
    /** The newest events' items the terms read, newest first. */
    recentKnownItems(events: readonly { itemId: string | null }[]): string[] {
      return terms.recent(events).events.map((i) => events[i]!.itemId as string);
    },
    successorsOf(fromItemIds: readonly string[], limit: number): string[] {
      return idsOf(markov?.lifts(recentOf(fromItemIds), { successors: limit }) ?? []);
    },
    cooccurringWith(fromItemIds: readonly string[], limit = Infinity): string[] {
      const limits = { successors: 0, cooccurrenceNeighbors: limit };
      return idsOf(cooc?.lifts(recentOf(fromItemIds), limits) ?? []);
    },
    /** Model indices of every lifted item, as retrieval asks for them. */
    liftable(fromItemIds: readonly string[], successors: number, neighbors = Infinity): number[] {
      return terms.lifts(recentOf(fromItemIds), { successors, cooccurrenceNeighbors: neighbors });
    },
    /** The Markov term's counts for `from` → `to`, or null without the term or with `from` unknown. */
    transitionOf(fromItemId: string, toItemId: string): { count: number; out: number } | null {
      const from = model.indexOf(fromItemId);
      if (!markov || from === undefined) return null;
      const to = model.indexOf(toItemId);
      return { count: to === undefined ? 0 : markov.count(from, to), out: markov.outOf(from) };
    },
    /** S[from, to] as the term reads it; null without the term in the scores or `from` unknown. */
    cooccurrenceOf(fromItemId: string, toItemId: string): number | null {
      const from = model.indexOf(fromItemId);
      if (!cooccurrenceOn || from === undefined) return null;
      const to = model.indexOf(toItemId);
      return to === undefined ? 0 : cooc!.similarity(from, to);
    },
    strongestCooccurrence(fromItemId: string): number | null {
      const from = model.indexOf(fromItemId);
      return !cooccurrenceOn || from === undefined ? null : cooc!.strongest(from);
    },
    /** model.score with every term's inputs, from each row's `recentItemIds`. */
    score(inputs: readonly TermScorerInput[]): Promise<Float32Array[]> {
      const recent = inputs.map((r) => recentOf(r.recentItemIds));
      return model.score(inputs, (candidates, width) => terms.feeds(recent, candidates, width));
    },
  };
}

/** Loads a model directory as serving does: its scoring terms bound and checked. */
export function loadWithTerms(dir: string): Promise<Model> {
  return withTerms(Model.load(dir, 'cpu'));
}
