// The dashboard (dashboard/): its TypeScript bundled by esbuild once when the gateway starts
// (no build step, no CDN), served at /dashboard with its page, stylesheet and a summary of the
// shipped model's offline metrics (/dashboard/model.json, from models/metrics.json, and its
// next-category forecasters' from model.json `metrics.category`).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'dashboard');

interface MetricsEntry {
  protocol: string;
  model: { version: string; test: Record<string, number> };
  baselines: Record<string, { test: Record<string, number> }>;
}

/** The model's and the baselines' test figures of one protocol of models/metrics.json. */
async function modelSummary(metricsFile: string, key: string, version: string) {
  let raw: string;
  try {
    raw = await readFile(metricsFile, 'utf8');
  } catch (err) {
    // A model rolled out from a directory of its own (src/serving/) may have no metrics beside it.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { version, protocol: `no offline metrics: ${metricsFile} is missing`, rows: [] };
  }
  const all = JSON.parse(raw) as Record<string, MetricsEntry>;
  const m = all[key];
  if (!m) return { version, protocol: `no "${key}" entry in ${metricsFile}`, rows: [] };
  const row = (method: string, t: Record<string, number>) => ({
    method,
    'HR@10': t['HR@10'],
    'NDCG@10': t['NDCG@10'],
    'HR@20': t['HR@20'],
    'NDCG@20': t['NDCG@20'],
  });
  return {
    version: m.model.version ?? version,
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
}

const CATEGORY_METHODS: Record<string, string> = {
  modelMix: 'catnet + rules (MODEL_MIX)',
  rulesMix: 'rules mix (RULES_MIX)',
  last: "rule: last event's category",
  recency: 'rule: recency-weighted frequency',
  session: 'rule: session frequency',
  transitions: 'rule: category transitions',
  popularity: 'rule: global popularity',
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
  return { forecaster: m.forecaster, rule: m.rule, level: m.level, rows };
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
  model: (dataset?: string) => {
    dataset: string;
    version: string;
    metricsFile: string;
    /** model.json `metrics.category`, when the model has it. */
    category?: unknown;
  } | null,
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
      const key = `${m.dataset}-history-excluded`;
      const category = categorySummary(m.category);
      found = modelSummary(m.metricsFile, key, m.version).then((s) => ({ ...s, category }));
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
