// Helpers shared by the model tests: read a model directory per models/README.md and run its
// ONNX files with onnxruntime-node. The contract itself (names, parity runner) is product code,
// src/inference/contract.ts, which the rollout validation uses too.
import fs from 'node:fs';
import path from 'node:path';

export {
  CONTRACT,
  type Fixture,
  maxAbsDiff,
  runOnnx,
  scorerExtraInputs,
  scorerMarkovInputs,
  shapeOf,
  toTensor,
} from '../../src/inference/contract.js';

export interface ModelMeta {
  version: string;
  dataset: string;
  dim: number;
  maxLen: number;
  numItems: number;
  numAttributes: number;
  heads: { category: boolean; purchase: boolean };
  dynamicLength?: boolean;
  eventTypes: string[];
  /** The encoder inputs training saw (models/README.md); absent = all. */
  observed?: { eventTypes: string[]; timeGaps: boolean };
  /** `format: "events"` for models trained on the events format (train.py --events / --from-db). */
  data?: { format?: string };
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

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readModelMeta(dir: string): ModelMeta {
  return readJson<ModelMeta>(path.join(dir, 'model.json'));
}

export function readItemEmbeddings(dir: string, meta: ModelMeta): Float32Array {
  const buf = fs.readFileSync(path.join(dir, meta.files.itemEmbeddings));
  // copy into an aligned buffer; the file is little-endian float32 like every supported host
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
