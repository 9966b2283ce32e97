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

import { runFixture, type Fixture } from '../../src/inference/contract.js';
import { ort } from '../../src/inference/onnx.js';

export {
  CONTRACT,
  type Fixture,
  maxAbsDiff,
  shapeOf,
  toTensor,
} from '../../src/inference/contract.js';

/** Opens `file` on the CPU and runs `inputs` through it; the caller releases the session. */
export async function runOnnx(
  file: string,
  inputs: Fixture,
): Promise<{ session: ort.InferenceSession; outputs: Record<string, ort.Tensor> }> {
  const session = await ort.InferenceSession.create(file);
  try {
    return { session, outputs: await runFixture(session, inputs) };
  } catch (err) {
    await session.release();
    throw err;
  }
}


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
