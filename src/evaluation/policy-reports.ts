// Off-policy reports over the impression log: every target for every (model version, logged
// policy) group of the served forecasts (estimators: evaluation/ope.ts).
import type { Queryable } from '../db/client.js';
import { loggedForecasts, type ImpressionFilter, type LoggedForecast } from '../db/impressions.js';
import { estimatePolicy, type PolicyEstimate, type Reward } from './ope.js';

export interface PolicyReport extends PolicyEstimate {
  modelVersion: string;
  loggedPolicy: string;
  reward: Reward;
}

/** Estimates of every target for every (model version, logged policy) group of the logs. */
export async function evaluatePolicies(
  q: Queryable,
  filter: ImpressionFilter,
  targets: readonly number[],
  rewards: readonly Reward[],
  resamples = 1000,
): Promise<PolicyReport[]> {
  const groups = new Map<string, LoggedForecast[]>();
  for (const f of await loggedForecasts(q, filter)) {
    const key = `${f.modelVersion}\u0000${f.policy.key}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(f);
  }
  const out: PolicyReport[] = [];
  for (const [key, logs] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const [modelVersion, loggedPolicy] = key.split('\u0000') as [string, string];
    for (const reward of rewards)
      for (const t of targets)
        out.push({
          modelVersion,
          loggedPolicy,
          reward,
          ...estimatePolicy(logs, t, reward, resamples),
        });
  }
  return out;
}

const f4 = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(4));
const ci = (c: [number, number] | null) => (c ? ` [${f4(c[0])}, ${f4(c[1])}]` : '');

/** The reports as a Markdown table. */
export function reportTable(reports: readonly PolicyReport[]): string {
  const lines = [
    '| model version | logged policy | reward | forecasts | impressions | logged rate | target ε′ | IPS [95 % CI] | SNIPS [95 % CI] | ESS | max w |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of reports) {
    const estimate =
      r.unsupported > 0
        ? `unsupported on ${r.unsupported} of ${r.forecasts} forecasts | – | – | –`
        : `${f4(r.ips)}${ci(r.ipsCI)} | ${f4(r.snips)}${ci(r.snipsCI)} | ${Math.round(r.effectiveSampleSize ?? 0)} | ${f4(r.maxWeight)}`;
    lines.push(
      `| ${r.modelVersion} | ${r.loggedPolicy} | ${r.reward} | ${r.forecasts} | ${r.impressions} | ${f4(r.logged)} | ${r.targetEpsilon} | ${estimate} |`,
    );
  }
  return lines.join('\n');
}
