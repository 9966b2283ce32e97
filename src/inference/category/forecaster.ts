// The next-category forecaster a model ships (category.json, and catnet.onnx for MODEL_MIX):
// the distribution over the dataset's most specific categories from a shopper's history —
// catnet pooled with the rules, the rules pooled, or the single rule that won on validation
// (training's models/training/foresight_training/category/, models/README.md).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openSession, ort } from '../onnx.js';
import { categorySpecSchema, type CategorySpec } from './spec.js';
import { anchored, pooledDistribution, ruleDistributions, type RuleName } from './rules.js';

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

  /** The forecaster in words (the rule for RULE and an anchored mix's rule; null for a mix). */
  get detail(): string | null {
    if (this.spec.rule) return RULE_WORDS[this.spec.rule];
    return this.spec.anchor ? `${RULE_WORDS[this.spec.anchor]} first, then the mix` : null;
  }

  /**
   * The distribution (index 0 the padding) after the newest `maxEvents` events whose item has a
   * category in the forecaster's table; null when no event has one.
   */
  async distribution(events: readonly CategoryEvent[]): Promise<Float64Array | null> {
    return (await this.distributions([events]))[0] as Float64Array | null;
  }

  /**
   * `distribution` of each history, with one catnet run per distinct history length (catnet.onnx
   * takes no padding, so histories of one length share a run; a batch of forecasts needs a few
   * runs instead of one each).
   */
  async distributions(
    histories: readonly (readonly CategoryEvent[])[],
  ): Promise<(Float64Array | null)[]> {
    const table = this.spec.itemCategories;
    const inputs = histories.map((events) => {
      const known = events
        .filter((e) => e.itemId !== null && Object.hasOwn(table, e.itemId))
        .slice(-this.spec.rules.maxEvents);
      if (known.length === 0) return null;
      const cats = known.map((e) => table[e.itemId as string] as number);
      const times = known.map((e) => (e.occurredAt ? e.occurredAt.getTime() / 1000 : null));
      return { known, cats, rules: ruleDistributions(this.spec, this.popularity, cats, times) };
    });
    if (this.spec.forecaster === 'RULE') {
      const e = this.spec.ruleShare ?? 0;
      return inputs.map((input) =>
        input
          ? input.rules[this.spec.rule as RuleName].map((p, c) =>
              c === 0 ? 0 : (1 - e) * p + e * (this.popularity[c] as number),
            )
          : null,
      );
    }
    const catnet = this.catnet
      ? await this.runCatnet(
          inputs.map((input) => input && { known: input.known, cats: input.cats }),
        )
      : null;
    const anchor = this.spec.anchor;
    return inputs.map((input, k) => {
      if (!input) return null;
      const p = pooledDistribution(this.spec, input.rules, catnet?.[k] ?? null);
      return anchor ? anchored(p, input.rules[anchor], this.popularity) : p;
    });
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

  /** catnet's distribution after each history (null rows: none), one run per history length. */
  private async runCatnet(
    rows: readonly ({ known: readonly CategoryEvent[]; cats: readonly number[] } | null)[],
  ): Promise<(Float32Array | null)[]> {
    const byLength = new Map<number, number[]>();
    rows.forEach((row, k) => {
      if (!row) return;
      const group = byLength.get(row.cats.length);
      if (group) group.push(k);
      else byLength.set(row.cats.length, [k]);
    });
    const out: (Float32Array | null)[] = rows.map(() => null);
    const C = this.popularity.length;
    for (const [n, group] of byLength) {
      const items = new BigInt64Array(group.length * n);
      const categories = new BigInt64Array(group.length * n);
      group.forEach((k, g) => {
        const row = rows[k] as { known: readonly CategoryEvent[]; cats: readonly number[] };
        row.known.forEach((e, j) => {
          items[g * n + j] = BigInt(this.catnetItems.get(e.itemId as string) ?? 1);
          categories[g * n + j] = BigInt(row.cats[j] as number);
        });
      });
      const result = await (this.catnet as ort.InferenceSession).run({
        item_ids: new ort.Tensor('int64', items, [group.length, n]),
        category_ids: new ort.Tensor('int64', categories, [group.length, n]),
      });
      const probs = result.category_probs;
      if (
        !probs ||
        !(probs.data instanceof Float32Array) ||
        probs.data.length !== group.length * C
      ) {
        throw new Error(
          `catnet output category_probs missing, not float32 or not [${group.length}, ${C}]`,
        );
      }
      const data = probs.data;
      group.forEach((k, g) => (out[k] = data.subarray(g * C, (g + 1) * C)));
    }
    return out;
  }

  async release(): Promise<void> {
    await this.catnet?.release();
  }
}
