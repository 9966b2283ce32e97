// The dashboard (dashboard/): its TypeScript bundled by esbuild once when the gateway starts
// (no build step, no CDN), served at /dashboard with its page, stylesheet and a summary of the
// serving model's own offline metrics and the rollout gate's verdict (/dashboard/model.json, from
// its model.json; models/metrics.json beside it for a model.json without baselines), and its
// next-category forecasters' (model.json `metrics.category`).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import type { ModelManifest } from './inference/manifest.js';
import { judgeModel } from './serving/gate.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'dashboard');

interface MetricsEntry {
  protocol: string;
  model: { version: string; test: Record<string, number> };
  baselines: Record<string, { test: Record<string, number> }>;
}

const row = (method: string, t: Record<string, number>) => ({
  method,
  'HR@10': t['HR@10'],
  'NDCG@10': t['NDCG@10'],
  'HR@20': t['HR@20'],
  'NDCG@20': t['NDCG@20'],
});

/**
 * The serving model's own test figures and its baselines', from its model.json (what the
 * rollout gate judges), with the gate's verdict; a model.json without baselines (a model made
 * before the gate) falls back to one protocol of the metrics.json beside its directory.
 */
async function modelSummary(
  manifest: ModelManifest,
  metricsFile: string,
  key: string,
  version: string,
) {
  const gate = judgeModel(manifest);
  const verdict = `rollout gate: ${gate.detail}`;
  if (gate.outcome !== 'NO_METRICS') {
    const metrics = manifest.metrics as {
      test: Record<string, number>;
      protocol?: string;
      baselines: Record<string, { test?: Record<string, number> }>;
    };
    const split = (manifest.data as { split?: { protocol?: unknown } } | undefined)?.split;
    return {
      version,
      source: 'model.json',
      protocol:
        metrics.protocol ??
        (typeof split?.protocol === 'string' ? split.protocol : 'its own test targets'),
      gate: verdict,
      rows: [
        row('model', metrics.test),
        ...Object.entries(metrics.baselines).flatMap(([name, b]) =>
          b.test ? [row(name, b.test)] : [],
        ),
      ],
    };
  }
  return { ...(await metricsFileSummary(metricsFile, key, version)), gate: verdict };
}

/** The model's and the baselines' test figures of one protocol of models/metrics.json. */
async function metricsFileSummary(metricsFile: string, key: string, version: string) {
  let raw: string;
  try {
    raw = await readFile(metricsFile, 'utf8');
  } catch (err) {
    // A model rolled out from a directory of its own (src/serving/) may have no metrics beside it.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return {
      version,
      source: 'none',
      protocol: `no offline metrics: neither model.json nor ${metricsFile} has them`,
      rows: [],
    };
  }
  const all = JSON.parse(raw) as Record<string, MetricsEntry>;
  const m = all[key];
  if (!m)
    return { version, source: 'none', protocol: `no "${key}" entry in ${metricsFile}`, rows: [] };
  return {
    version: m.model.version ?? version,
    source: metricsFile,
    protocol: m.protocol,
    rows: [
      row('model', m.model.test),
      ...Object.entries(m.baselines).map(([name, b]) => row(name, b.test)),
    ],
  };
}

/** model.json `metrics.category` as the dashboard reads it (models/README.md). */
interface CategoryMetrics {
  level: string;
  forecaster: string;
  rule: string | null;
  test: Record<string, { top1: number; top5: number; logLoss: number }>;
  sequenceModelHead?: { targets: number; head: { top1: number; top5: number; logLoss: number } };
  treeLevels?: {
    levels: {
      depth: number;
      categories: number;
      served: { top1: number; top5: number };
      bestRuleOnValidation: string;
      rules: Record<string, { top1: number; top5: number }>;
    }[];
  };
}

const CATEGORY_METHODS: Record<string, string> = {
  modelMix: 'catnet + rules (MODEL_MIX)',
  rulesMix: 'rules mix (RULES_MIX)',
  last: "rule: last event's category",
  recency: 'rule: recency-weighted frequency',
  session: 'rule: session frequency',
  transitions: 'rule: category transitions',
  popularity: 'rule: global popularity',
  segment: 'rule: segment popularity (measured, not served)',
};

/**
 * The next-category forecasters' test figures of a model (model.json `metrics.category`): the
 * served one first, then the others and the item model's own head; null when it has none.
 */
export function categorySummary(metrics: unknown) {
  const m = metrics as CategoryMetrics | null | undefined;
  if (!m?.test) return null;
  const served = m.rule ?? (m.forecaster === 'MODEL_MIX' ? 'modelMix' : 'rulesMix');
  const row = (method: string, t: { top1: number; top5: number; logLoss: number }) => ({
    method,
    top1: t.top1,
    top5: t.top5,
    logLoss: t.logLoss,
  });
  const names = [served, ...Object.keys(CATEGORY_METHODS).filter((k) => k !== served)];
  const rows = names.flatMap((k) => {
    const t = m.test[k];
    const name = `${CATEGORY_METHODS[k] ?? k}${k === served ? ' — served' : ''}`;
    return t ? [row(name, t)] : [];
  });
  if (m.sequenceModelHead) rows.push(row("item model's category head", m.sequenceModelHead.head));
  // where the data has a tree: the served forecast summed up to each depth, against the best
  // rule computed at that depth
  const levels = (m.treeLevels?.levels ?? []).map((l) => {
    const rule = l.rules[l.bestRuleOnValidation];
    return {
      depth: l.depth,
      categories: l.categories,
      served: l.served,
      rule: l.bestRuleOnValidation,
      ruleTop1: rule?.top1 ?? null,
      ruleTop5: rule?.top5 ?? null,
    };
  });
  return { forecaster: m.forecaster, rule: m.rule, level: m.level, rows, levels };
}

/** The page, stylesheet and bundled script, built once per process (every server shares them). */
let assets: Promise<{ js: string; html: string; css: string }> | undefined;

async function loadAssets(): Promise<{ js: string; html: string; css: string }> {
  const [bundled, html, css] = await Promise.all([
    build({
      entryPoints: [path.join(DIR, 'main.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'es2020',
      minify: true,
      logLevel: 'silent',
    }),
    readFile(path.join(DIR, 'index.html'), 'utf8'),
    readFile(path.join(DIR, 'style.css'), 'utf8'),
  ]);
  return { js: bundled.outputFiles[0]?.text ?? '', html, css };
}

/**
 * Registers /dashboard, /dashboard/app.js, /dashboard/style.css and /dashboard/model.json;
 * `model` names the serving model's dataset and version (null without a model) for a dataset
 * (`/dashboard/model.json?dataset=…`; without one, the gateway's first), asked at every
 * request: a rollout switches it (src/serving/).
 */
export async function registerDashboard(
  app: FastifyInstance,
  model: (
    dataset?: string,
  ) => { manifest: ModelManifest; version: string; metricsFile: string } | null,
): Promise<void> {
  const { js, html, css } = await (assets ??= loadAssets());
  const none = {
    version: 'none loaded',
    protocol: 'no model: forecasts are unavailable',
    rows: [],
    category: null,
  };
  const cached = new Map<string, ReturnType<typeof modelSummary>>();
  const summary = (dataset?: string) => {
    const m = model(dataset);
    if (!m && dataset !== undefined && model()) {
      return {
        version: 'none for this dataset',
        protocol: `no model serves dataset ${dataset}: its forecasts come from the popularity fallbacks`,
        rows: [],
        category: null,
      };
    }
    if (!m) return none;
    let found = cached.get(m.version);
    if (!found) {
      const key = `${m.manifest.dataset}-history-excluded`;
      const category = categorySummary(m.manifest.metrics?.category);
      found = modelSummary(m.manifest, m.metricsFile, key, m.version).then((s) => ({
        ...s,
        category,
      }));
      // Versions served in this process: a handful (one per dataset, rollouts).
      cached.set(m.version, found);
    }
    return found;
  };
  await summary(); // a broken metrics file fails the start, as before
  app.get('/dashboard', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html),
  );
  app.get('/dashboard/app.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(js),
  );
  app.get('/dashboard/style.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(css),
  );
  app.get<{ Querystring: { dataset?: string } }>('/dashboard/model.json', async (req) =>
    summary(typeof req.query.dataset === 'string' ? req.query.dataset : undefined),
  );
}
