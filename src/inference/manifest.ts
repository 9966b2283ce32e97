// The model manifest (a model directory's model.json, models/README.md): the one schema the
// gateway loads models with, the rollout validates them with, and the trainer's export checks
// its output against (as JSON Schema, models/manifest.schema.json: `npm run manifest:schema`).
// Loading is lenient (keys it does not know are dropped); the JSON Schema is strict, so an
// exporter cannot write a key that this file does not declare.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** The cold-item features scorer.coldItems may weigh (src/forecast/cold-items.ts). */
export const COLD_FEATURES = [
  'innerProduct',
  'bias',
  'neighbourTerms5',
  'neighbourTerms20',
  'recentSimilarity',
  'recentSimilarityMax3',
  'sharedAttributes',
  'sharedAttributesMax3',
] as const;

/** Input and output names of one ONNX graph, as export wrote them. */
const graphIo = z.object({ inputs: z.array(z.string()), outputs: z.array(z.string()) });

/**
 * The scorer's terms beside the inner product (src/forecast/terms/, one module each; the same
 * names in models/training/foresight_training/sequence/terms/). A term absent here is off.
 */
const scorerSchema = z.object({
  /** category term: `weight * log(mean category probability of the candidate)`; 0 = off. */
  categoryWeight: z.number(),
  /**
   * Markov term: the weights of `log(1 + c)` and `c / out` over first-order transition counts
   * (null or absent = off; then scorer.onnx takes no transition inputs).
   */
  markov: z.tuple([z.number(), z.number()]).nullable().optional(),
  /** Markov term: reshaped by a learned gate inside scorer.onnx (same inputs, still >= 0). */
  markovRefined: z.boolean().optional(),
  /**
   * Markov term: how many of the subject's newest items the transition inputs cover (absent =
   * the newest alone, in the rank-2 / rank-1 inputs).
   */
  markovItems: z.number().int().positive().optional(),
  /** Markov term: transitions stored in files.transitions (documentation). */
  transitions: z.number().int().nonnegative().optional(),
  /**
   * Co-occurrence term: `weight * sum over k < window of decay^k * S[h_k, candidate]` over the
   * `window` newest items h_k (absent = off; then scorer.onnx takes no `candidate_cooccurrence`).
   */
  cooccurrence: z
    .object({
      weight: z.number().nonnegative(),
      window: z.number().int().positive(),
      decay: z.number().gt(0).max(1),
      neighbors: z.number().int().positive(),
      pairs: z.number().int().nonnegative(),
      /**
       * The table's sequential-rules part (absent = cosine co-occurrence alone): S adds
       * `alpha * log(1 + how often j came 2 .. maxGap positions after i)`. Documentation
       * only: the gateway reads S from the file either way.
       */
      sequential: z
        .object({ alpha: z.number().positive(), maxGap: z.number().int().min(2) })
        .optional(),
    })
    .optional(),
  /** Selected and evaluated ranking only items the subject has not interacted with. */
  excludeHistory: z.boolean().optional(),
  /**
   * How items the model never trained on (content-tower vectors) are scored: a linear function
   * of `features` (src/forecast/cold-items.ts; fitted on held-out items by
   * foresight_training/sequence/cold_items.py) plus `boost`. Absent: by the scorer alone.
   */
  coldItems: z
    .object({
      features: z.array(z.enum(COLD_FEATURES)).min(1),
      weights: z.array(z.number()),
      boost: z.number(),
      /** Neighbour counts of neighbourTerms5 / neighbourTerms20. */
      neighbours: z.tuple([z.number().int().positive(), z.number().int().positive()]),
      /** Softmax temperature of the neighbours' cosines. */
      temperature: z.number().positive(),
      /** How many of the newest input items the similarity features read. */
      recentItems: z.number().int().positive(),
    })
    .refine((c) => c.weights.length === c.features.length, {
      message: 'coldItems.weights needs one weight per feature',
    })
    .optional(),
});

/**
 * The files of a model directory. Every key past `parity` names an item table of a scoring
 * term (TableFile): CSR rows over the model's items (src/inference/csr.ts), read when the term
 * binds.
 */
const filesSchema = z.object({
  encoder: z.string(),
  scorer: z.string(),
  content: z.string(),
  itemEmbeddings: z.string(),
  vocab: z.string(),
  parity: z.string().optional(),
  /** The Markov term's transition counts (int32 values). */
  transitions: z.string().optional(),
  /** The co-occurrence term's similarities (float32 values). */
  cooccurrence: z.string().optional(),
  /** The next-category forecaster (category.json, src/inference/category/). */
  category: z.string().optional(),
  /**
   * Every model item's content-tower vector (float32, [numItems + 1, dim], row 0 and held-out
   * items zero): the neighbours and similarities of scorer.coldItems.
   */
  contentVectors: z.string().optional(),
});

/** The `files` keys that name item tables: all but the graphs, vocabulary and fixtures. */
export type TableFile = Exclude<
  keyof z.infer<typeof filesSchema>,
  | 'encoder'
  | 'scorer'
  | 'content'
  | 'itemEmbeddings'
  | 'vocab'
  | 'parity'
  | 'category'
  | 'contentVectors'
>;

export const manifestSchema = z.object({
  version: z.string().min(1),
  dataset: z.string().min(1),
  dim: z.number().int().positive(),
  maxLen: z.number().int().positive(),
  /** encoder.onnx accepts any sequence length up to maxLen (positions count from the newest). */
  dynamicLength: z.boolean().optional(),
  numItems: z.number().int().positive(),
  numAttributes: z.number().int().nonnegative(),
  /** The widest row of the item → attribute table (documentation). */
  maxAttributesPerItem: z.number().int().nonnegative().optional(),
  eventTypes: z.array(z.string()).min(2),
  timeGapBucketsSeconds: z.array(z.number().positive()),
  textHashBuckets: z.number().int().positive(),
  priceBandsUpper: z.array(z.number().positive()),
  heads: z.object({ category: z.boolean(), purchase: z.boolean() }),
  /** Inputs the training data had; others are fed as "unknown" (models/README.md). */
  observed: z.object({ eventTypes: z.array(z.string()), timeGaps: z.boolean() }).optional(),
  files: filesSchema,
  /** What export wrote into the graphs (src/inference/contract.ts checks the files). */
  onnx: z
    .object({
      opset: z.number().int().positive(),
      encoder: graphIo,
      scorer: graphIo,
      content: graphIo,
    })
    .optional(),
  scorer: scorerSchema.optional(),
  /**
   * Whether already-seen items may be recommended, as training decided it from the data (the
   * repeat share among the training part's next events, and validation); `scorer.excludeHistory`
   * is true exactly when `seenItems` is EXCLUDED. Forecasts state it (`InterestForecast.repeatPolicy`).
   */
  repeatPolicy: z
    .object({
      seenItems: z.enum(['EXCLUDED', 'ALLOWED']),
      repeatShare: z.number().min(0).max(1),
      targets: z.number().int().nonnegative(),
      repeats: z.number().int().nonnegative(),
      'validNDCG@10': z.object({ EXCLUDED: z.number(), ALLOWED: z.number() }).optional(),
      decidedBy: z.string(),
    })
    .optional(),
  /** Where the training data came from, and its split (free-form; the model card reads it). */
  data: z.looseObject({}).optional(),
  /** The command, hyper-parameters and time of training (free-form). */
  training: z.looseObject({}).optional(),
  /** Offline metrics against the baselines (free-form; models/metrics.json has them all). */
  metrics: z.looseObject({}).optional(),
});

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ScorerManifest = NonNullable<ModelManifest['scorer']>;

/**
 * What model_versions records of a manifest (and a rollout compares a candidate with): what
 * serving reads, without the sections that only document the model (onnx, data, training,
 * metrics, maxAttributesPerItem, files.parity, scorer.markovRefined), so that the record of a
 * version stays the same across gateway releases that document more.
 */
const recordedSchema = manifestSchema
  .omit({ onnx: true, data: true, training: true, metrics: true, maxAttributesPerItem: true })
  .extend({
    files: filesSchema.omit({ parity: true }),
    scorer: scorerSchema.omit({ markovRefined: true }).optional(),
  });

export function recordedManifest(manifest: ModelManifest): z.infer<typeof recordedSchema> {
  return recordedSchema.parse(manifest);
}

/** Validates a parsed model.json; throws zod's error, which names every offending path. */
export function parseManifest(json: unknown): ModelManifest {
  return manifestSchema.parse(json);
}

/** A model directory's model.json, validated; throws naming the file (zod's issues as `cause`). */
export async function readManifest(dir: string): Promise<ModelManifest> {
  const file = path.join(dir, 'model.json');
  try {
    return parseManifest(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    throw new Error(`cannot read model manifest ${file}`, { cause: err });
  }
}

/** The manifest as JSON Schema (draft 2020-12): what models/manifest.schema.json holds. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(manifestSchema),
    $id: 'https://foresight.dev/schemas/model-manifest.json',
    title: 'Foresight model manifest (model.json)',
    description:
      'Generated from src/inference/manifest.ts by `npm run manifest:schema`; do not edit. ' +
      'models/README.md describes every field.',
  };
}

/** Where the JSON Schema is committed (test/inference/manifest.test.ts checks it is current). */
export const MANIFEST_JSON_SCHEMA = path.resolve(
  path.dirname(import.meta.filename),
  '..',
  '..',
  'models',
  'manifest.schema.json',
);

/** models/manifest.schema.json's text, as `npm run manifest:schema` writes it. */
export function printedManifestJsonSchema(): string {
  return JSON.stringify(manifestJsonSchema(), null, 2) + '\n';
}

export type ColdItemsManifest = NonNullable<ScorerManifest['coldItems']>;
