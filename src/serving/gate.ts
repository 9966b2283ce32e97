// The rollout gate: nothing reaches shoppers that lost to a simple rule on the shop's own data
// (DESIGN.md). A model passes when it beats the best baseline on its own test targets — model.json
// `metrics.test` against every `metrics.baselines[name].test` — on both NDCG@10 and HR@10. A
// model whose model.json lacks those figures cannot show that it does, and does not pass either.
// rollouts.ts refuses a model that does not pass unless the caller gives a reason to override.
import type { ModelManifest } from '../inference/manifest.js';

/** The metrics compared, in the order the verdict reports them. */
export const GATE_METRICS = ['NDCG@10', 'HR@10'] as const;

/** One metric: the model against the baseline that scored best on it. */
export interface GateComparison {
  metric: string;
  model: number;
  /** The baseline with the highest value of `metric` (`metrics.baselines` key). */
  bestBaseline: string;
  baseline: number;
  /** model − baseline: > 0 when the model beats it. */
  lead: number;
}

export type GateOutcome = 'BEATS_BASELINES' | 'BELOW_BASELINE' | 'NO_METRICS';

export interface GateVerdict {
  passed: boolean;
  outcome: GateOutcome;
  /** What was compared and found, in one line (the refusal's message says it). */
  detail: string;
  comparisons: GateComparison[];
}

const figure = (section: unknown, metric: string): number | null => {
  const v = (section as Record<string, unknown> | undefined)?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

const testOf = (entry: unknown): unknown =>
  entry !== null && typeof entry === 'object' ? (entry as { test?: unknown }).test : undefined;

const f4 = (x: number) => x.toFixed(4);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${f4(Math.abs(x))}`;

/** The gate's verdict on a model from its manifest's `metrics` (nothing else is read). */
export function judgeModel(manifest: Pick<ModelManifest, 'metrics'>): GateVerdict {
  const metrics = manifest.metrics as Record<string, unknown> | undefined;
  const test = metrics?.test;
  const baselines = Object.entries((metrics?.baselines ?? {}) as Record<string, unknown>).filter(
    ([, b]) => GATE_METRICS.every((m) => figure(testOf(b), m) !== null),
  );
  const missing = GATE_METRICS.filter((m) => figure(test, m) === null);
  if (missing.length > 0 || baselines.length === 0) {
    const what = [
      ...(missing.length > 0 ? [`metrics.test has no ${missing.join(' or ')}`] : []),
      ...(baselines.length === 0
        ? [`metrics.baselines has no baseline with test ${GATE_METRICS.join(' and ')}`]
        : []),
    ];
    return {
      passed: false,
      outcome: 'NO_METRICS',
      detail: `model.json cannot show that the model beats a baseline: ${what.join('; ')}`,
      comparisons: [],
    };
  }
  const comparisons = GATE_METRICS.map((metric): GateComparison => {
    let best = baselines[0] as [string, unknown];
    for (const b of baselines)
      if ((figure(testOf(b[1]), metric) ?? 0) > (figure(testOf(best[1]), metric) ?? 0)) best = b;
    const model = figure(test, metric) as number;
    const baseline = figure(testOf(best[1]), metric) as number;
    return { metric, model, bestBaseline: best[0], baseline, lead: model - baseline };
  });
  const passed = comparisons.every((c) => c.lead > 0);
  const said = comparisons.map(
    (c) =>
      `${c.metric} ${f4(c.model)} against ${f4(c.baseline)} for "${c.bestBaseline}" (${signed(c.lead)})`,
  );
  const users = figure(test, 'users');
  return {
    passed,
    outcome: passed ? 'BEATS_BASELINES' : 'BELOW_BASELINE',
    detail:
      `${passed ? 'beats' : 'does not beat'} the best baseline on its own test targets` +
      `${users === null ? '' : ` (${users} targets)`}: ${said.join(', ')}`,
    comparisons,
  };
}
