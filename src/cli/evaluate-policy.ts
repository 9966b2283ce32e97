// `npm run evaluate:policy`: off-policy estimates (IPS, SNIPS, 95 % bootstrap intervals) of
// epsilon-greedy targets from the gateway's own impression and feedback logs (evaluation/ope.ts),
// per model version and logged policy. Reads the database the gateway is configured with
// (DATABASE_URL, else the embedded one in DATA_DIR — stop the gateway first: PGlite admits one
// process), or --database-url.
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../config.js';
import type { ImpressionFilter } from '../db/impressions.js';
import type { Reward } from '../evaluation/ope.js';
import { evaluatePolicies, reportTable } from '../evaluation/policy-reports.js';
import { runCommand, UsageError, withConfiguredDb, type CommandLine } from './run.js';

const USAGE = `usage: npm run evaluate:policy -- [--target 0,0.05,0.1,0.2] [--reward click|purchase]
  [--logged <policy key>] [--model-version V] [--since ISO] [--until ISO]
  [--database-url URL] [--resamples 1000] [--out FILE.json]
targets: epsilon-greedy at each ε′ over the logged slate and pool (0 = the model's greedy slate)`;

const OPTIONS = {
  target: { type: 'string', default: '0,0.05,0.1,0.2' },
  reward: { type: 'string', default: 'click,purchase' },
  logged: { type: 'string' },
  'model-version': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'database-url': { type: 'string' },
  resamples: { type: 'string', default: '1000' },
  out: { type: 'string' },
} as const;

function parseDate(s: string | undefined, name: string): Date | null {
  if (s === undefined) return null;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name} takes an ISO date, got "${s}"`);
  return d;
}

async function main({ values }: CommandLine<typeof OPTIONS>): Promise<number> {
  const targets = values.target.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)));
  const rewards = values.reward.split(',') as Reward[];
  const resamples = Number(values.resamples);
  if (!targets.every((t) => t >= 0 && t <= 1))
    throw new UsageError(`--target takes values in [0, 1], got "${values.target}"`);
  if (!rewards.every((r) => r === 'click' || r === 'purchase'))
    throw new UsageError(`--reward takes click and/or purchase, got "${values.reward}"`);
  if (!(Number.isInteger(resamples) && resamples > 0))
    throw new UsageError(`--resamples takes a positive integer, got "${values.resamples}"`);
  const filter: ImpressionFilter = {
    since: parseDate(values.since, 'since'),
    until: parseDate(values.until, 'until'),
    modelVersion: values['model-version'] ?? null,
    policy: values.logged ?? null,
  };
  const config = loadConfig(process.env);
  const reports = await withConfiguredDb(
    config,
    (db) => evaluatePolicies(db, filter, targets, rewards, resamples),
    { migrate: false, databaseUrl: values['database-url'] ?? config.databaseUrl },
  );
  if (reports.length === 0) {
    console.error('no served forecasts match: nothing to evaluate');
    return 1;
  }
  if (values.out) await writeFile(values.out, JSON.stringify(reports, null, 2) + '\n');
  console.log(reportTable(reports));
  return 0;
}

runCommand({ usage: USAGE, options: OPTIONS, main });
