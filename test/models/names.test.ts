// The names the training side declares once (models/training/foresight_training/contract.py, and
// the scorer inputs its terms take from there) are the gateway's: every ONNX graph's inputs and
// outputs (src/inference/contract.ts), the scorer's term inputs (src/forecast/terms/) and the
// event types (src/db/events.ts). Python prints its side; any difference fails.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSchema, type GraphQLEnumType } from 'graphql';
import { EVENT_TYPES } from '../../src/db/events.js';
import { loadTypeDefs } from '../../src/server.js';
import { scorerTermInputs } from '../../src/forecast/terms/index.js';
import { CONTRACT, GRAPHS } from '../../src/inference/contract.js';
import type { ScorerManifest } from '../../src/inference/manifest.js';
import { runTrainingSnippet } from '../helpers/python.js';
import { readJson, readModelMeta } from './contract.js';

interface PythonNames {
  graphs: Record<string, { inputs: string[]; outputs: string[] }>;
  eventTypes: string[];
  encoderEventTypes: string[];
  intent: { input: string; output: string };
  /** Scorer.inputs of a scorer with the terms of each SCORERS entry below. */
  scorerInputs: Record<keyof typeof SCORERS, string[]>;
}

// the scorer sections (model.json) whose inputs are compared, and the same terms in Python
const beauty = readModelMeta('models/beauty');
const SCORERS = {
  category: { categoryWeight: 0.1 },
  markov: { categoryWeight: 0.1, markov: [1, 1] },
  markovItems: { categoryWeight: 0.1, markov: [1, 1], markovRefined: true, markovItems: 2 },
  cooccurrence: beauty.scorer,
} satisfies Record<string, ScorerManifest>;

const SCRIPT = `
import json
from foresight_training import contract
from foresight_training.sequence.scorer import Scorer
from foresight_training.sequence.terms import CategoryTerm, CooccurrenceTerm, MarkovTerm
from foresight_training.sequence.terms.markov_refine import MarkovRefine

def inputs(*terms):
    return Scorer([CategoryTerm(0.1), *terms]).inputs

items = MarkovTerm([1.0, 1.0], MarkovRefine(8, 2))
print(json.dumps({
    "graphs": {name: {"inputs": g.inputs, "outputs": g.outputs} for name, g in contract.GRAPHS.items()},
    "eventTypes": contract.EVENT_TYPES,
    "encoderEventTypes": contract.ENCODER_EVENT_TYPES,
    "intent": {"input": contract.INTENT.inputs[0], "output": contract.INTENT.outputs[0]},
    "scorerInputs": {"category": inputs(), "markov": inputs(MarkovTerm([1.0, 1.0])), "markovItems": inputs(items),
                     "cooccurrence": inputs(items, CooccurrenceTerm(8.0, 3, 0.8))},
}))
`;

describe('names shared by training and the gateway', () => {
  let py: PythonNames;
  beforeAll(() => {
    const run = runTrainingSnippet(SCRIPT);
    expect(run.status, run.stderr).toBe(0);
    py = JSON.parse(run.stdout) as PythonNames;
  });

  it('names the same graphs with the same inputs and outputs, in order', () => {
    expect(Object.keys(py.graphs)).toEqual([...GRAPHS]);
    for (const graph of GRAPHS) {
      expect(py.graphs[graph], graph).toEqual({
        inputs: [...CONTRACT[graph].inputs],
        outputs: [...CONTRACT[graph].outputs],
      });
    }
    // (CONTRACT.encoderPurchaseOutput has no Python side: no training data here has an honest
    // purchase head, so export never writes one)
  });

  it('adds the same scorer inputs for each combination of terms', () => {
    for (const [name, scorer] of Object.entries(SCORERS)) {
      expect(py.scorerInputs[name as keyof typeof SCORERS], name).toEqual([
        ...CONTRACT.scorer.inputs,
        ...scorerTermInputs({ ...beauty, scorer }),
      ]);
    }
    // every term input the gateway knows is exercised above
    expect(new Set(Object.values(py.scorerInputs).flat())).toEqual(
      new Set([
        ...CONTRACT.scorer.inputs,
        'candidate_transitions',
        'newest_out_transitions',
        'history_out_transitions',
        'candidate_cooccurrence',
      ]),
    );
  });

  it('has the same event types, padding and unknown first in the encoder vocabulary', () => {
    expect(py.eventTypes).toEqual([...EVENT_TYPES]);
    // …and the GraphQL enum the API takes them by (schema/*.graphql).
    const schemaEnum = buildSchema(loadTypeDefs()).getType('EventType') as GraphQLEnumType;
    expect(schemaEnum.getValues().map((v) => v.name).sort()).toEqual([...EVENT_TYPES].sort());
    expect(py.encoderEventTypes).toEqual(['<pad>', '<unknown>', ...EVENT_TYPES]);
    // A shipped model's vocabulary is the list as it was when it was trained: new types are
    // appended, so its indices stay those of today's list (a type it never saw is <unknown>).
    for (const dir of ['models/beauty', 'models/diginetica']) {
      const shipped = readModelMeta(dir).eventTypes;
      expect(shipped.length, dir).toBeGreaterThanOrEqual(2);
      expect(py.encoderEventTypes.slice(0, shipped.length), dir).toEqual(shipped);
    }
    // the shipped models predate WISHLIST: it is the prefix rule, not equality, that holds
    expect(readModelMeta('models/beauty').eventTypes).not.toContain('WISHLIST');
  });

  it('names intent.onnx as the shipped intent.json does', () => {
    const manifest = readJson<{ input: string; output: string }>('models/intent/intent.json');
    expect(py.intent).toEqual({ input: manifest.input, output: manifest.output });
  });
});
