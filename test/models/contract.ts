// Helpers shared by the model tests: read a model directory per models/README.md and run its
// ONNX files with onnxruntime-node.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

export interface ModelMeta {
  version: string;
  dataset: string;
  dim: number;
  maxLen: number;
  numItems: number;
  numAttributes: number;
  heads: { category: boolean; purchase: boolean };
  dynamicLength?: boolean;
  scorer: {
    categoryWeight: number;
    markov?: [number, number] | null;
    markovRefined?: boolean;
    /** K newest items the Markov inputs cover (models/README.md); absent = 1 (newest only). */
    markovItems?: number;
    transitions?: number;
    /** Item co-occurrence term (models/README.md); absent = off. */
    cooccurrence?: { weight: number; window: number; decay: number; neighbors: number; pairs: number };
  };
  files: {
    encoder: string;
    scorer: string;
    content: string;
    itemEmbeddings: string;
    vocab: string;
    transitions?: string;
    cooccurrence?: string;
  };
}

export type Fixture = Record<string, number[] | number[][] | number[][][]>;

export const CONTRACT = {
  encoder: {
    inputs: ['item_ids', 'event_types', 'time_gaps'],
    outputs: ['user_state', 'category_probs', 'attention'],
  },
  scorer: {
    inputs: ['user_state', 'category_probs', 'candidate_embeddings', 'candidate_attrs'],
    outputs: ['scores'],
  },
  content: { inputs: ['attr_ids', 'text_tokens', 'price_band'], outputs: ['embedding'] },
  /** Extra scorer inputs when model.json `scorer.markov` is set. */
  scorerMarkovInputs: ['candidate_transitions', 'newest_out_transitions'],
  /** Extra scorer inputs instead, when model.json `scorer.markovItems` is set: [B, K, N] and [B, K]. */
  scorerMarkovItemsInputs: ['candidate_transitions', 'history_out_transitions'],
  /** Extra scorer input when model.json `scorer.cooccurrence` is set: [B, N]. */
  scorerCooccurrenceInputs: ['candidate_cooccurrence'],
} as const;

/** The scorer's Markov inputs this model takes (none without `scorer.markov`). */
export function scorerMarkovInputs(meta: ModelMeta): readonly string[] {
  if (!meta.scorer.markov) return [];
  return meta.scorer.markovItems ? CONTRACT.scorerMarkovItemsInputs : CONTRACT.scorerMarkovInputs;
}

/** Every scorer input beyond the base four that this model takes (Markov, co-occurrence). */
export function scorerExtraInputs(meta: ModelMeta): readonly string[] {
  return [
    ...scorerMarkovInputs(meta),
    ...(meta.scorer.cooccurrence ? CONTRACT.scorerCooccurrenceInputs : []),
  ];
}

/** Inputs that are int64 in the contract; everything else is float32. */
const INT64 = new Set([
  'item_ids',
  'event_types',
  'time_gaps',
  'candidate_attrs',
  'attr_ids',
  'text_tokens',
  'price_band',
]);

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readModelMeta(dir: string): ModelMeta {
  return readJson<ModelMeta>(path.join(dir, 'model.json'));
}

/** Shape of a nested array (rectangular by construction of the fixtures). */
export function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let v: unknown = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

export function toTensor(name: string, value: unknown): ort.Tensor {
  const shape = shapeOf(value);
  const flat = (value as unknown[]).flat(Infinity as 1) as number[];
  if (INT64.has(name)) {
    return new ort.Tensor('int64', BigInt64Array.from(flat.map((x) => BigInt(x))), shape);
  }
  return new ort.Tensor('float32', Float32Array.from(flat), shape);
}

export async function runOnnx(
  file: string,
  inputs: Fixture,
): Promise<{ session: ort.InferenceSession; outputs: Record<string, ort.Tensor> }> {
  const session = await ort.InferenceSession.create(file);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(inputs)) feeds[name] = toTensor(name, value);
  const outputs = (await session.run(feeds)) as Record<string, ort.Tensor>;
  return { session, outputs };
}

export function maxAbsDiff(actual: ort.Tensor, expected: unknown): number {
  const exp = (expected as unknown[]).flat(Infinity as 1) as number[];
  const act = actual.data as Float32Array;
  if (act.length !== exp.length) return Infinity;
  let m = 0;
  for (let i = 0; i < exp.length; i++) m = Math.max(m, Math.abs((act[i] ?? NaN) - (exp[i] ?? NaN)));
  return Number.isNaN(m) ? Infinity : m;
}

export function readItemEmbeddings(dir: string, meta: ModelMeta): Float32Array {
  const buf = fs.readFileSync(path.join(dir, meta.files.itemEmbeddings));
  // copy into an aligned buffer; the file is little-endian float32 like every supported host
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
