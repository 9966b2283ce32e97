// The ONNX side of the model contract (models/README.md): the input and output names of each
// graph, and the parity fixture every export ships (parity.json: inputs and the PyTorch outputs
// saved at export), which the ONNX files must reproduce within its tolerance. The model tests
// and the run-time rollout validation (src/serving/validate.ts) both check against this one copy;
// training's is models/training/foresight_training/contract.py (test/models/names.test.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ort } from './onnx.js';

export type GraphName = 'encoder' | 'scorer' | 'content';
export const GRAPHS: readonly GraphName[] = ['encoder', 'scorer', 'content'];

/** Every tensor name of the three graphs, declared once: the gateway feeds and reads by these. */
export const TENSOR = {
  itemIds: 'item_ids',
  eventTypes: 'event_types',
  timeGaps: 'time_gaps',
  userState: 'user_state',
  categoryProbs: 'category_probs',
  attention: 'attention',
  purchaseProb: 'purchase_prob',
  candidateEmbeddings: 'candidate_embeddings',
  candidateAttrs: 'candidate_attrs',
  scores: 'scores',
  attrIds: 'attr_ids',
  textTokens: 'text_tokens',
  priceBand: 'price_band',
  embedding: 'embedding',
} as const;

/** Each graph's inputs and outputs, in order. */
export const CONTRACT = {
  encoder: {
    inputs: [TENSOR.itemIds, TENSOR.eventTypes, TENSOR.timeGaps],
    outputs: [TENSOR.userState, TENSOR.categoryProbs, TENSOR.attention],
  },
  scorer: {
    inputs: [
      TENSOR.userState,
      TENSOR.categoryProbs,
      TENSOR.candidateEmbeddings,
      TENSOR.candidateAttrs,
    ],
    outputs: [TENSOR.scores],
  },
  content: {
    inputs: [TENSOR.attrIds, TENSOR.textTokens, TENSOR.priceBand],
    outputs: [TENSOR.embedding],
  },
  /** Extra encoder output when model.json `heads.purchase` is true: [B]. */
  encoderPurchaseOutput: TENSOR.purchaseProb,
} as const;

/**
 * How `names` (a session's inputs and outputs) differ from what the contract asks of `graph`
 * for this model; empty when they match. The base inputs come first in contract order, the
 * optional ones after them in any order (they are fed by name): for the scorer,
 * `scorerTermInputs`, the inputs its terms add (src/forecast/terms/: scorerTermInputs).
 */
export function contractProblems(
  graph: GraphName,
  names: { inputNames: readonly string[]; outputNames: readonly string[] },
  meta: { heads?: { purchase: boolean } },
  scorerTermInputs: readonly string[],
): string[] {
  const base = CONTRACT[graph];
  const extraInputs = graph === 'scorer' ? scorerTermInputs : [];
  const outputs: readonly string[] =
    graph === 'encoder' && meta.heads?.purchase
      ? [...base.outputs, CONTRACT.encoderPurchaseOutput]
      : base.outputs;
  const inputs = [...names.inputNames];
  const problems: string[] = [];
  const list = (xs: readonly string[]) => `[${xs.join(', ')}]`;
  if (list(inputs.slice(0, base.inputs.length)) !== list(base.inputs)) {
    problems.push(
      `inputs start ${list(inputs.slice(0, base.inputs.length))}, expected ${list(base.inputs)}`,
    );
  }
  const rest = inputs.slice(base.inputs.length).sort();
  if (list(rest) !== list([...extraInputs].sort())) {
    problems.push(`optional inputs ${list(rest)}, expected ${list([...extraInputs].sort())}`);
  }
  if (list(names.outputNames) !== list(outputs)) {
    problems.push(`outputs ${list(names.outputNames)}, expected ${list(outputs)}`);
  }
  return problems;
}

export type Fixture = Record<string, number[] | number[][] | number[][][]>;

const fixtureSchema = z.record(z.string(), z.array(z.unknown()));
const parityCaseSchema = z.object({
  inputs: fixtureSchema,
  outputs: fixtureSchema,
  /** This graph's own tolerance, when it differs from the file's. */
  tolerance: z.number().nonnegative().optional(),
});
const paritySchema = z.object({
  tolerance: z.number().nonnegative(),
  encoder: parityCaseSchema.extend({ topItems: z.array(z.array(z.number())).optional() }),
  scorer: parityCaseSchema,
  content: parityCaseSchema,
});

export interface ParityCase {
  inputs: Fixture;
  outputs: Fixture;
  tolerance?: number;
}
export interface ParityFixture {
  tolerance: number;
  encoder: ParityCase & { topItems?: number[][] };
  scorer: ParityCase;
  content: ParityCase;
}

export const PARITY_FILE = 'parity.json';

/** A model directory's parity.json, checked for its structure (not its shapes). */
export async function readParity(dir: string): Promise<ParityFixture> {
  const file = path.join(dir, PARITY_FILE);
  try {
    return paritySchema.parse(JSON.parse(await readFile(file, 'utf8'))) as ParityFixture;
  } catch (err) {
    throw new Error(`cannot read ${file}`, { cause: err });
  }
}

/** Inputs that are int64 in the contract; everything else is float32. */
const INT64: ReadonlySet<string> = new Set([
  TENSOR.itemIds,
  TENSOR.eventTypes,
  TENSOR.timeGaps,
  TENSOR.candidateAttrs,
  TENSOR.attrIds,
  TENSOR.textTokens,
  TENSOR.priceBand,
]);

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

/** Runs a fixture's inputs (by name) through an open session. */
export async function runFixture(
  session: ort.InferenceSession,
  inputs: Fixture,
): Promise<Record<string, ort.Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, value] of Object.entries(inputs)) feeds[name] = toTensor(name, value);
  return (await session.run(feeds)) as Record<string, ort.Tensor>;
}

/** Largest absolute difference; Infinity when the sizes differ or a value is not a number. */
export function maxAbsDiff(actual: ort.Tensor, expected: unknown): number {
  const exp = (expected as unknown[]).flat(Infinity as 1) as number[];
  const act = actual.data as Float32Array;
  if (act.length !== exp.length) return Infinity;
  let m = 0;
  for (let i = 0; i < exp.length; i++) m = Math.max(m, Math.abs((act[i] ?? NaN) - (exp[i] ?? NaN)));
  return Number.isNaN(m) ? Infinity : m;
}

/**
 * How a graph's outputs for a parity case differ from the saved PyTorch outputs: every output
 * the case names, its largest difference (Infinity for a missing output or another shape).
 */
export function parityDiffs(
  outputs: Record<string, ort.Tensor>,
  expected: Fixture,
): { output: string; diff: number; problem: string | null }[] {
  return Object.entries(expected).map(([output, want]) => {
    const t = outputs[output];
    if (!t) return { output, diff: Infinity, problem: 'missing' };
    const shape = shapeOf(want);
    if (t.dims.join('x') !== shape.join('x')) {
      return {
        output,
        diff: Infinity,
        problem: `shape [${t.dims.join(', ')}], expected [${shape.join(', ')}]`,
      };
    }
    return { output, diff: maxAbsDiff(t, want), problem: null };
  });
}
