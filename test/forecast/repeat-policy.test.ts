// The repeat policy through the API: every forecast states whether already-seen items may be
// recommended and who decided (the serving model's recorded decision, or the request's
// filter.excludeSeen), and the items follow what it states. The shipped Beauty model leaves
// seen items out (scorer.excludeHistory) without a measured repeat share; a copy of it whose
// model.json records the cut-off protocol's decision (ALLOWED, with the measured share) serves
// seen items unless the request says otherwise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../../src/inference/model.js';
import type { ForecastEngine } from '../../src/forecast/engine.js';
import { backends } from '../helpers/backends.js';
import { MODEL_DIR, openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { startServer, type TestServer } from '../helpers/server.js';

const FORECAST = `query($u: ID!, $filter: ForecastFilter) {
  interestForecast(userId: $u, first: 50, filter: $filter) {
    strategy repeatPolicy { seenItems source repeatShare } items { item { id } }
  }
}`;

interface Answer {
  strategy: string;
  repeatPolicy: { seenItems: string; source: string; repeatShare: number | null };
  items: { item: { id: string } }[];
}

/** A copy of the shipped model whose model.json records an ALLOWED decision and its share. */
function allowingCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-repeat-policy-'));
  for (const f of fs.readdirSync(MODEL_DIR))
    fs.copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  delete meta.scorer.excludeHistory;
  meta.repeatPolicy = {
    seenItems: 'ALLOWED',
    repeatShare: 0.186,
    targets: 12156,
    repeats: 2266,
    decidedBy: 'validation NDCG@10 of the two policies',
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(meta));
  return dir;
}

describe.each(backends)('repeat policy of forecasts on $name', (backend) => {
  let f: ForecastFixture;
  let allowing: { dir: string; model: Model; engine: ForecastEngine; server: TestServer };
  /** A user with a long history, and the item ids of that history. */
  let user: string;
  let seen: Set<string>;

  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 60 });
    const line = [...f.lines].sort((a, b) => b.split(' ').length - a.split(' ').length)[0]!;
    const [u, ...items] = line.split(' ');
    user = `beauty:${u}`;
    seen = new Set(items.map((i) => `beauty:${i}`));
    const dir = allowingCopy();
    const model = await Model.load(dir, 'cpu');
    const engine = f.createEngine(model);
    allowing = { dir, model, engine, server: await startServer(f.db, {}, { engine }) };
  }, 120_000);
  afterAll(async () => {
    await allowing?.server.close();
    await allowing?.engine.close();
    await allowing?.model.release();
    if (allowing) fs.rmSync(allowing.dir, { recursive: true, force: true });
    await f?.close();
  });

  const ask = async (server: TestServer, filter?: Record<string, unknown>) => {
    // the Amazon events are purchases: excludePurchased (default true) is turned off, so only
    // the repeat policy decides whether seen items come back
    const res = await server.gql<{ interestForecast: Answer }>(FORECAST, {
      u: user,
      filter: { excludePurchased: false, ...filter },
    });
    expect(res.errors).toBeUndefined();
    const a = res.data!.interestForecast;
    expect(a.strategy).toBe('SEQUENCE_MODEL');
    return { ...a, ids: a.items.map((i) => i.item.id) };
  };

  it("states the model's decision and follows it: Beauty leaves seen items out", async () => {
    const a = await ask(f.server);
    expect(a.repeatPolicy).toEqual({ seenItems: 'EXCLUDED', source: 'MODEL', repeatShare: null });
    expect(a.ids.filter((id) => seen.has(id))).toEqual([]);
  });

  it('is overridden per request, and says so', async () => {
    const allowed = await ask(f.server, { excludeSeen: false });
    expect(allowed.repeatPolicy).toEqual({
      seenItems: 'ALLOWED',
      source: 'REQUEST',
      repeatShare: null,
    });
    const excluded = await ask(f.server, { excludeSeen: true });
    expect(excluded.repeatPolicy).toEqual({
      seenItems: 'EXCLUDED',
      source: 'REQUEST',
      repeatShare: null,
    });
    expect(excluded.ids).toEqual((await ask(f.server)).ids);
  });

  it('states a recorded ALLOWED decision with its measured share, and serves seen items', async () => {
    const a = await ask(allowing.server);
    expect(a.repeatPolicy).toEqual({ seenItems: 'ALLOWED', source: 'MODEL', repeatShare: 0.186 });
    // the same ranking as asking for seen items explicitly, which holds some of them
    const asked = await ask(allowing.server, { excludeSeen: false });
    expect(asked.repeatPolicy.source).toBe('REQUEST');
    expect(a.ids).toEqual(asked.ids);
    expect(a.ids.some((id) => seen.has(id))).toBe(true);
    const overridden = await ask(allowing.server, { excludeSeen: true });
    expect(overridden.repeatPolicy).toEqual({
      seenItems: 'EXCLUDED',
      source: 'REQUEST',
      repeatShare: 0.186,
    });
    expect(overridden.ids.filter((id) => seen.has(id))).toEqual([]);
  });
});
