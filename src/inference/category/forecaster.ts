// The next-category forecaster a model ships (category.json, and catnet.onnx for MODEL_MIX):
// the distribution over the dataset's most specific categories from a shopper's history —
// catnet pooled with the rules, the rules pooled, or the single rule that won on validation
// (training's models/training/foresight_training/category/, models/README.md).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openSession, ort } from '../onnx.js';
import { categorySpecSchema, type CategorySpec } from './spec.js';
import { pooledDistribution, ruleDistributions, type RuleName } from './rules.js';

/** An event as the forecaster reads it. */
export interface CategoryEvent {
  itemId: string | null;
  occurredAt: Date | null;
}

/** What a forecast's `categoryStrategyDetail` says of each rule. */
const RULE_WORDS: Record<RuleName, string> = {
  last: "the last event's category",
  recency: "recency-weighted frequency of the history's categories",
  session: "frequency of the last session's categories",
  popularity: 'the most popular categories',
  transitions: "the categories that most often followed the last event's category",
};

export class CategoryForecaster {
  private readonly popularity: Float64Array;
  private readonly catnetItems: Map<string, number>;

  private constructor(
    readonly spec: CategorySpec,
    private readonly catnet: ort.InferenceSession | null,
  ) {
    this.popularity = Float64Array.from(spec.popularity);
    this.catnetItems = new Map((spec.catnet?.items ?? []).map((id, k) => [id, k + 2]));
  }

  /** Reads `file` (and its catnet.onnx) from a model directory; throws naming the file. */
  static async load(dir: string, file: string, threads = 0): Promise<CategoryForecaster> {
    const at = path.join(dir, file);
    let spec: CategorySpec;
    try {
      spec = categorySpecSchema.parse(JSON.parse(await readFile(at, 'utf8')));
    } catch (err) {
      throw new Error(`cannot read category forecaster ${at}`, { cause: err });
    }
    const session = spec.catnet
      ? (await openSession(path.join(dir, spec.catnet.file), 'cpu', threads)).session
      : null;
    return new CategoryForecaster(spec, session);
  }

  get kind(): CategorySpec['forecaster'] {
    return this.spec.forecaster;
  }

  /** The forecaster in words (the rule for RULE, null for the mixes). */
  get detail(): string | null {
    return this.spec.rule ? RULE_WORDS[this.spec.rule] : null;
  }

  /**
   * The distribution (index 0 the padding) after the newest `maxEvents` events whose item has a
   * category in the forecaster's table; null when no event has one.
   */
  async distribution(events: readonly CategoryEvent[]): Promise<Float64Array | null> {
    const table = this.spec.itemCategories;
    const known = events
      .filter((e) => e.itemId !== null && Object.hasOwn(table, e.itemId))
      .slice(-this.spec.rules.maxEvents);
    if (known.length === 0) return null;
    const cats = known.map((e) => table[e.itemId as string] as number);
    const times = known.map((e) => (e.occurredAt ? e.occurredAt.getTime() / 1000 : null));
    const rules = ruleDistributions(this.spec, this.popularity, cats, times);
    if (this.spec.forecaster === 'RULE') {
      const d = rules[this.spec.rule as RuleName];
      const e = this.spec.ruleShare ?? 0;
      return d.map((p, c) => (c === 0 ? 0 : (1 - e) * p + e * (this.popularity[c] as number)));
    }
    const catnet = this.catnet ? await this.runCatnet(known, cats) : null;
    return pooledDistribution(this.spec, rules, catnet);
  }

  /** The `first` most likely categories, ties by index. */
  top(probs: Float64Array, first: number): { categoryId: string; probability: number }[] {
    const order = Array.from({ length: probs.length - 1 }, (_, k) => k + 1);
    order.sort((a, b) => (probs[b] as number) - (probs[a] as number) || a - b);
    return order.slice(0, first).map((c) => ({
      categoryId: this.spec.categories[c - 1] as string,
      probability: probs[c] as number,
    }));
  }

  private async runCatnet(
    known: readonly CategoryEvent[],
    cats: readonly number[],
  ): Promise<Float32Array> {
    const n = known.length;
    const items = BigInt64Array.from(known, (e) => BigInt(this.catnetItems.get(e.itemId!) ?? 1));
    const categories = BigInt64Array.from(cats, (c) => BigInt(c));
    const out = await (this.catnet as ort.InferenceSession).run({
      item_ids: new ort.Tensor('int64', items, [1, n]),
      category_ids: new ort.Tensor('int64', categories, [1, n]),
    });
    const probs = out.category_probs;
    if (!probs || !(probs.data instanceof Float32Array)) {
      throw new Error('catnet output category_probs missing or not float32');
    }
    return probs.data;
  }

  async release(): Promise<void> {
    await this.catnet?.release();
  }
}
