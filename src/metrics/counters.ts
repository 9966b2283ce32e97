// The forecast counters a gateway process keeps (its engines' batches and ONNX calls) and
// their sum over several engines or cluster workers: what /metrics and /debug/inference report.
import type { ForecastEngine } from '../forecast/engine.js';
import type { ModelCallStats } from '../forecast/forecast.js';
import { emptyBatcherStats, type BatcherStats } from '../forecast/batcher.js';
import type { ReadCounters } from '../db/read-routing.js';

/** One serving model's share of the counters (MODEL_DIRS: one model per dataset). */
export interface ModelCounters {
  dataset: string;
  modelVersion: string;
  /** Forecasts its engine computed. */
  forecasts: number;
  modelCalls: Record<string, ModelCallStats>;
}

/** The forecast counters /metrics and /debug/inference report. */
export interface InferenceCounters {
  /** Summed over the serving engines (one per dataset). */
  forecast: BatcherStats;
  modelCalls: Record<string, ModelCallStats>;
  /** Wall time per stage of the forecast batches (ForecastEngine.stageTimes), summed. */
  stages: Record<string, ModelCallStats>;
  encoderRuns: number;
  /** Per serving model; absent in counters from before MODEL_DIRS. */
  models?: ModelCounters[];
  /** Where forecast batches read (READ_DATABASE_URL); absent without a replica. */
  reads?: ReadCounters;
  /** Gateway processes these counters are the sum of. */
  workers: number;
  /** Their process ids. */
  pids: number[];
}

/** The counters of one gateway process: its serving engines' (one per dataset), summed. */
export function engineCounters(...engines: ForecastEngine[]): InferenceCounters {
  const each = engines.map((engine): InferenceCounters => ({
    forecast: engine.batcher.stats,
    modelCalls: engine.modelCalls,
    stages: engine.stageTimes,
    encoderRuns: engine.model.encoderRuns,
    models: [
      {
        dataset: engine.model.manifest.dataset,
        modelVersion: engine.model.version,
        forecasts: engine.batcher.stats.items,
        modelCalls: engine.modelCalls,
      },
    ],
    workers: 1,
    pids: [process.pid],
  }));
  return { ...sumCounters(each), workers: 1, pids: [process.pid] };
}

const addCalls = (into: Record<string, ModelCallStats>, from: Record<string, ModelCallStats>) => {
  for (const [graph, s] of Object.entries(from)) {
    const sum = (into[graph] ??= { calls: 0, items: 0, ms: 0 });
    sum.calls += s.calls;
    sum.items += s.items;
    sum.ms += s.ms;
  }
};

/** The counters of several workers (or engines) as one: every count summed, batch sizes and
 * the per-model counters merged. */
export function sumCounters(list: readonly InferenceCounters[]): InferenceCounters {
  const forecast = emptyBatcherStats();
  const modelCalls: Record<string, ModelCallStats> = {};
  const stages: Record<string, ModelCallStats> = {};
  const models = new Map<string, ModelCounters>();
  let encoderRuns = 0;
  let reads: ReadCounters | undefined;
  let workers = 0;
  const pids: number[] = [];
  for (const c of list) {
    forecast.batches += c.forecast.batches;
    forecast.items += c.forecast.items;
    forecast.rejected += c.forecast.rejected;
    forecast.runMsTotal += c.forecast.runMsTotal;
    forecast.queueDepth += c.forecast.queueDepth;
    for (const [size, n] of Object.entries(c.forecast.batchSizes)) {
      const k = Number(size);
      forecast.batchSizes[k] = (forecast.batchSizes[k] ?? 0) + n;
    }
    addCalls(modelCalls, c.modelCalls);
    addCalls(stages, c.stages);
    for (const m of c.models ?? []) {
      const key = JSON.stringify([m.dataset, m.modelVersion]);
      const sum = models.get(key) ?? { ...m, forecasts: 0, modelCalls: {} };
      models.set(key, sum);
      sum.forecasts += m.forecasts;
      addCalls(sum.modelCalls, m.modelCalls);
    }
    encoderRuns += c.encoderRuns;
    if (c.reads) reads = reads ? addReads(reads, c.reads) : c.reads;
    workers += c.workers;
    pids.push(...c.pids);
  }
  return {
    forecast,
    modelCalls,
    stages,
    encoderRuns,
    models: [...models.values()],
    ...(reads && { reads }),
    workers,
    pids,
  };
}

/** Two processes' read routing as one: batches summed, the larger lag, up only if both are. */
function addReads(a: ReadCounters, b: ReadCounters): ReadCounters {
  const batches = { ...a.batches };
  for (const [k, n] of Object.entries(b.batches)) batches[k as keyof typeof batches] += n;
  const lags = [a.lagSeconds, b.lagSeconds].filter((l): l is number => l !== null);
  return {
    batches,
    lagSeconds: lags.length === 2 ? Math.max(...lags) : null,
    replicaUp: Math.min(a.replicaUp, b.replicaUp),
  };
}
