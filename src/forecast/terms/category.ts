// The category term (model.json `scorer.categoryWeight`, models/README.md):
// `weight * log(mean next-category probability of the candidate's attributes)`, computed inside
// scorer.onnx from inputs every scorer takes (category_probs, candidate_attrs). It is negative
// wherever it is on, so any candidate may move: retrieval re-scores deeper lists.
import type { SequenceModel } from '../../inference/model.js';
import type { ScoringTerm, TermModule } from './term.js';

const CATEGORY: ScoringTerm = {
  name: 'category',
  recentItems: 0,
  reranks: true,
  lifts: () => [],
  feeds: () => ({}),
  // The next-category head explains categories whether or not the term is on (explain.ts).
  explain: () => [],
};

export const category: TermModule = {
  inputs: () => [],
  bind(model: SequenceModel): ScoringTerm | null {
    // A model that does not say is assumed to re-rank, as scorer.onnx may weigh categories.
    return model.manifest.scorer?.categoryWeight === 0 ? null : CATEGORY;
  },
};
