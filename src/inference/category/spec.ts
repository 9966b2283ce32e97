// category.json: the next-category forecaster a model directory ships (written by
// models/training/foresight_training/category/serving.py; models/README.md describes it).
import { z } from 'zod';

const feature = z.enum([
  'transitions',
  'recency',
  'session',
  'popularity',
  'catnet',
  'last',
  'inHistory',
  'historyCount',
]);

export const categorySpecSchema = z
  .object({
    dataset: z.string().min(1),
    /** MODEL_MIX: catnet pooled with the rules; RULES_MIX: the rules pooled; RULE: one rule. */
    forecaster: z.enum(['MODEL_MIX', 'RULES_MIX', 'RULE']),
    rule: z.enum(['last', 'recency', 'session', 'popularity', 'transitions']).nullable(),
    /** RULE: the share of popularity mixed in, so that every category keeps some mass. */
    ruleShare: z.number().min(0).max(1).nullable(),
    /** Category ids at indices 1..C (index 0 is the padding). */
    categories: z.array(z.string()).min(1),
    /** Item id → its most specific category's index. */
    itemCategories: z.record(z.string(), z.number().int().positive()),
    /** Each category's share of the training events (index 0 = 0). */
    popularity: z.array(z.number().nonnegative()),
    /** Last category index → [[next category index, count], …] of the training sequences. */
    transitions: z.record(z.string(), z.array(z.tuple([z.number().int(), z.number()]))),
    rules: z.object({
      recencyDecay: z.number().positive(),
      sessionGapSeconds: z.number().positive(),
      sessionEvents: z.number().int().positive(),
      markovPrior: z.number().positive(),
      maxEvents: z.number().int().positive(),
      floor: z.number().positive(),
    }),
    features: z.array(feature).nullable(),
    weights: z.array(z.number()).nullable(),
    /** catnet.onnx and its item vocabulary (index k + 2; 1 = unknown, 0 = padding). */
    catnet: z.object({ file: z.string(), items: z.array(z.string()) }).nullable(),
    /**
     * A mix anchored on this rule: the rule's top category first, the mix's order for the rest
     * (absent or null: the mix as it is).
     */
    anchor: z.enum(['last', 'recency', 'session', 'popularity', 'transitions']).nullish(),
  })
  .refine((s) => s.popularity.length === s.categories.length + 1, {
    message: 'popularity needs one entry per category plus the padding',
  })
  .refine((s) => (s.forecaster === 'RULE') === (s.rule !== null), {
    message: 'a RULE forecaster names its rule, the mixes none',
  })
  .refine((s) => s.forecaster === 'RULE' || s.features?.length === s.weights?.length, {
    message: 'a mix needs one weight per feature',
  })
  .refine((s) => (s.forecaster === 'MODEL_MIX') === (s.catnet !== null), {
    message: 'MODEL_MIX and only it ships catnet',
  })
  .refine((s) => s.forecaster !== 'RULE' || !s.anchor, {
    message: 'only a mix is anchored on a rule',
  });

export type CategorySpec = z.infer<typeof categorySpecSchema>;
