// Helpers shared by the model tests: read a model directory per models/README.md and run its
// ONNX files with onnxruntime-node. The contract itself (names, parity runner) is product code,
// src/inference/contract.ts, which the rollout validation uses too.
import fs from 'node:fs';
import path from 'node:path';
import {
  parseManifest,
  type ModelManifest,
  type ScorerManifest,
} from '../../src/inference/manifest.js';

export {
  CONTRACT,
  type Fixture,
  maxAbsDiff,
  runOnnx,
  shapeOf,
  toTensor,
} from '../../src/inference/contract.js';

/**
 * A model directory's manifest, as the gateway reads it (src/inference/manifest.ts), from an
 * exporter that writes the scorer section (train.py always does).
 */
export type ModelMeta = ModelManifest & { scorer: ScorerManifest };

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readModelMeta(dir: string): ModelMeta {
  const manifest = parseManifest(readJson(path.join(dir, 'model.json')));
  if (!manifest.scorer) throw new Error(`${dir}/model.json has no scorer section`);
  return { ...manifest, scorer: manifest.scorer };
}

export function readItemEmbeddings(dir: string, meta: ModelMeta): Float32Array {
  const buf = fs.readFileSync(path.join(dir, meta.files.itemEmbeddings));
  // copy into an aligned buffer; the file is little-endian float32 like every supported host
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
