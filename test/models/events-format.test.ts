// The events format as training reads it (foresight_training/sequence/data.py): the split by time holds out
// the newest sequences and predicts their last item from the known events before it; event
// types and time-gap buckets are the gateway's (src/inference/model.ts eventTypeIndex,
// timeGapBucket), bucket bounds included, and nothing of them is fed with --no-event-features.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';
import { runTrainingSnippet } from '../helpers/python.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

type Ev = { item: string | null; type: string; at: number | null };
const ev = (item: string | null, type: string, at: number | null): Ev => ({ item, type, at });

// s0 exercises the buckets: 60 s is the first bound (≤ 60), 60.001 s the next, a negative gap
// counts as 0, an unknown time gives 1 on both sides of it, above 30 days the last bucket.
const SEQUENCES: { id: string; events: Ev[] }[] = [
  {
    id: 's0',
    events: [
      ev('shop:p', 'VIEW', 0),
      ev('shop:q', 'CART', 60),
      ev(null, 'SEARCH', 61), // no item: never read by the encoder
      ev('shop:p', 'VIEW', 120.001),
      ev('shop:q', 'VIEW', 115.001),
      ev('shop:p', 'VIEW', null),
      ev('shop:q', 'VIEW', 200),
      ev('shop:p', 'VIEW', 200 + 2_592_000.001),
    ],
  },
  ...Array.from({ length: 6 }, (_, k) => ({
    id: `s${k + 1}`,
    events: [ev('shop:p', 'VIEW', 1e7 + 100 * k), ev('shop:r', 'VIEW', 1e7 + 100 * k + 10)],
  })),
  { id: 'one-early', events: [ev('shop:early', 'VIEW', 1e7 + 50)] },
  { id: 'one-late', events: [ev('shop:late', 'VIEW', 2e7 + 50)] },
  // validation: the 10 % before the test sequences
  { id: 's7', events: [ev('shop:r', 'VIEW', 2e7), ev('shop:q', 'CART', 2e7 + 5)] },
  // test: the newest 20 % of the 10 sequences with 2 or more events
  { id: 's8', events: [ev('shop:p', 'VIEW', 3e7), ev('shop:new', 'VIEW', 3e7 + 1)] },
  {
    id: 's9',
    events: [
      ev('shop:p', 'PURCHASE', 3e7 + 10),
      ev('shop:new', 'VIEW', 3e7 + 11),
      ev('shop:q', 'VIEW', 3e7 + 400),
    ],
  },
];

const SCRIPT = `
import json, sys
from foresight_training.sequence.data import encoder_inputs, load_events
events, attributes, features = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
ds, train, valid, test, info = load_events(events, attributes, "shop", "time", 0.1, 0.2, features)
def row(s, width=None):
    ids, ev, gaps = encoder_inputs([s], width or len(s))
    return {"items": [ds.item_raw[i - 1] for i in ids[0].tolist()], "types": ev[0].tolist(), "gaps": gaps[0].tolist()}
print(json.dumps({"items": ds.item_raw, "attributes": ds.attr_raw, "train": [row(s) for s in train],
                  "trainWindow": row(train[0], 5), "valid": [[row(s), ds.item_raw[t - 1]] for s, t in valid],
                  "test": [[row(s), ds.item_raw[t - 1]] for s, t in test], "observed": info["observed"],
                  "leftOut": info["leftOutSingleEvents"], "testInfo": info["test"]}))
`;

async function load(features: boolean) {
  const dir = await tempDir();
  dirs.push(dir);
  const events = path.join(dir, 'events.jsonl');
  const attributes = path.join(dir, 'attributes.json');
  fs.writeFileSync(events, SEQUENCES.map((s) => JSON.stringify(s)).join('\n') + '\n');
  fs.writeFileSync(attributes, JSON.stringify({ 'shop:p': ['shop:c1'], 'shop:q': ['shop:c2', 'shop:c1'] }));
  const run = runTrainingSnippet(SCRIPT, [events, attributes, features ? '1' : '0']);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('events format (sequence/data.py)', () => {
  it('splits by time and computes event types and gap buckets as the gateway does', async () => {
    const out = await load(true);
    // the vocabulary: items of the training sequences with 2 or more events; ids verbatim
    expect(out.items).toEqual(['shop:p', 'shop:q', 'shop:r']);
    expect(out.attributes).toEqual(['shop:c1', 'shop:c2']);
    expect(out.observed).toEqual({ eventTypes: ['VIEW', 'CART'], timeGaps: true });
    // VIEW = 2, CART = 3 (model eventTypes); gaps: 2 + the first bound ≥ the gap, 1 = unknown
    expect(out.train[0]).toEqual({
      items: ['shop:p', 'shop:q', 'shop:p', 'shop:q', 'shop:p', 'shop:q', 'shop:p'],
      types: [2, 3, 2, 2, 2, 2, 2],
      gaps: [1, 2, 3, 2, 1, 1, 9],
    });
    // a window of the newest events: its oldest event has no previous one (gateway: maxLen kept)
    expect(out.trainWindow.gaps).toEqual([1, 2, 1, 1, 9]);
    expect(out.train).toHaveLength(7); // s0..s6; the early single event's item is not in the vocabulary
    expect(out.leftOut).toBe(1); // the single event after the first validation sequence ended
    expect(out.valid).toEqual([[{ items: ['shop:r'], types: [2], gaps: [1] }, 'shop:q']]);
    // s8's target is unknown: not evaluated; s9's unknown item is dropped from its input, and its
    // PURCHASE, never seen in training, is fed as unknown (1)
    expect(out.test).toEqual([[{ items: ['shop:p'], types: [1], gaps: [1] }, 'shop:q']]);
    expect(out.testInfo).toMatchObject({ sequences: 2, evaluated: 1, skippedUnknownTarget: 1 });
  });

  it('feeds every type and gap as unknown with --no-event-features', async () => {
    const out = await load(false);
    expect(out.observed).toEqual({ eventTypes: [], timeGaps: false });
    expect(out.train[0].types.every((t: number) => t === 1)).toBe(true);
    expect(out.train[0].gaps.every((g: number) => g === 1)).toBe(true);
  });
});
