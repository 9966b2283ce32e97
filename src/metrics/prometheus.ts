// Prometheus exposition of the gateway's own counters (GET /metrics) with prom-client: merged
// forecast batches and their sizes, ONNX calls and their time, queue depth and overload
// rejections, impressions and feedback. The figures are summed over a cluster's workers
// (src/cluster.ts) before they get here, so each scrape builds a registry of their values;
// prom-client does the exposition format and the escaping of label values.
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { OutcomeRow } from '../db/outcomes.js';
import type { InferenceCounters } from './counters.js';

const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

type Labels = Record<string, string | number>;

/** A counter or gauge family with the given samples (labels → value). */
function family(
  registry: Registry,
  kind: 'counter' | 'gauge',
  name: string,
  help: string,
  samples: readonly [Labels, number][],
): void {
  const labelNames = [...new Set(samples.flatMap(([l]) => Object.keys(l)))];
  if (kind === 'gauge') {
    const g = new Gauge({ name, help, labelNames, registers: [registry] });
    for (const [labels, v] of samples) g.set(labels, v);
  } else {
    const c = new Counter({ name, help, labelNames, registers: [registry] });
    for (const [labels, v] of samples) c.inc(labels, v);
  }
}

/**
 * A histogram from counts kept elsewhere (the batchers' batch sizes, summed over workers):
 * prom-client's Histogram only observes one value at a time, so the family is handed to the
 * registry as the metric object its Histogram would produce.
 */
function histogramOf(
  registry: Registry,
  name: string,
  help: string,
  buckets: readonly number[],
  counts: readonly (readonly [number, number])[],
  sum: number,
  count: number,
): void {
  const values = [
    ...buckets.map((le) => ({
      labels: { le },
      value: counts.filter(([k]) => k <= le).reduce((a, [, c]) => a + c, 0),
      metricName: `${name}_bucket`,
    })),
    { labels: { le: '+Inf' }, value: count, metricName: `${name}_bucket` },
    { labels: {}, value: sum, metricName: `${name}_sum` },
    { labels: {}, value: count, metricName: `${name}_count` },
  ];
  const metric = { name, help, type: 'histogram', aggregator: 'sum' } as const;
  registry.registerMetric({
    ...metric,
    get: async () => ({ ...metric, values }),
  } as unknown as Metric);
}

/** One serving model, as foresight_info names it. */
export interface ServingInfo {
  dataset: string;
  modelVersion: string;
  provider: string;
}

/**
 * The counters of every gateway worker (summed in a cluster) and what the gateway runs: one
 * serving model per dataset (MODEL_DIRS). The forecast and ONNX families are totals over the
 * models; foresight_model_* break them down by dataset and model version.
 */
export async function renderMetrics(
  counters: InferenceCounters,
  info: { models: readonly ServingInfo[]; storage: string },
  outcomes: readonly OutcomeRow[] = [],
): Promise<string> {
  const { forecast: batches, modelCalls, encoderRuns } = counters;
  const registry = new Registry();
  const add = (
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    samples: [Labels, number][],
  ) => family(registry, kind, name, help, samples);
  add(
    'gauge',
    'foresight_info',
    'Serving model (one per dataset), its execution provider and the storage back-end in use.',
    info.models.map((m) => [
      {
        model_version: m.modelVersion,
        dataset: m.dataset,
        execution_provider: m.provider,
        storage: info.storage,
      },
      1,
    ]),
  );
  add(
    'gauge',
    'foresight_gateway_workers',
    'Gateway processes the counters below are summed over (GATEWAY_WORKERS).',
    [[{}, counters.workers]],
  );
  add('counter', 'foresight_forecast_batches_total', 'Merged forecast batches run.', [
    [{}, batches.batches],
  ]);
  add('counter', 'foresight_forecasts_total', 'Forecasts computed.', [[{}, batches.items]]);
  add(
    'counter',
    'foresight_forecast_rejected_total',
    'Forecasts refused because the queue was full.',
    [[{}, batches.rejected]],
  );
  add('gauge', 'foresight_forecast_queue_depth', 'Forecasts waiting for a batch.', [
    [{}, batches.queueDepth],
  ]);
  histogramOf(
    registry,
    'foresight_forecast_batch_size',
    'Forecasts per merged batch.',
    SIZE_BUCKETS,
    Object.entries(batches.batchSizes).map(([k, n]) => [Number(k), n] as const),
    batches.items,
    batches.batches,
  );
  const calls = Object.entries(modelCalls);
  add(
    'counter',
    'foresight_onnx_calls_total',
    'Model calls: one per merged batch and graph.',
    calls.map(([m, s]) => [{ model: m }, s.calls]),
  );
  add(
    'counter',
    'foresight_onnx_runs_total',
    'ONNX Runtime session runs: an encoder call runs once per history-length group (at most 3).',
    calls.map(([m, s]) => [{ model: m }, m === 'encoder' ? encoderRuns : s.calls]),
  );
  add(
    'counter',
    'foresight_onnx_items_total',
    'Rows run through ONNX Runtime.',
    calls.map(([m, s]) => [{ model: m }, s.items]),
  );
  add(
    'counter',
    'foresight_onnx_seconds_total',
    'Time spent in ONNX Runtime calls.',
    calls.map(([m, s]) => [{ model: m }, Number((s.ms / 1000).toFixed(6))]),
  );
  const stages = Object.entries(counters.stages ?? {}).filter(([, s]) => s.calls > 0);
  add(
    'counter',
    'foresight_forecast_stage_seconds_total',
    'Wall time of each stage of the forecast batches (the model path and the fallbacks run side by side, as do names and intent).',
    stages.map(([stage, s]) => [{ stage }, Number((s.ms / 1000).toFixed(6))]),
  );
  add(
    'counter',
    'foresight_forecast_stage_forecasts_total',
    'Forecasts that went through each stage.',
    stages.map(([stage, s]) => [{ stage }, s.items]),
  );
  const perModel = counters.models ?? [];
  add(
    'counter',
    'foresight_model_forecasts_total',
    "Forecasts computed by each dataset's serving engine (since it was loaded).",
    perModel.map((m) => [{ dataset: m.dataset, model_version: m.modelVersion }, m.forecasts]),
  );
  add(
    'counter',
    'foresight_model_onnx_calls_total',
    'Model calls per serving model and graph.',
    perModel.flatMap((m) =>
      Object.entries(m.modelCalls).map(([g, s]): [Labels, number] => [
        { dataset: m.dataset, model_version: m.modelVersion, model: g },
        s.calls,
      ]),
    ),
  );
  if (counters.reads) {
    const { batches, lagSeconds, replicaUp } = counters.reads;
    add(
      'counter',
      'foresight_forecast_read_batches_total',
      'Forecast batches by where their reads went (READ_DATABASE_URL): the replica, or the primary and why.',
      Object.entries(batches).map(([reason, n]) => [
        { target: reason === 'replica' ? 'replica' : 'primary', reason },
        n,
      ]),
    );
    add(
      'gauge',
      'foresight_replica_up',
      'Whether the read replica answered the last check as a standby (1) or not (0).',
      [[{}, replicaUp]],
    );
    // Absent while unknown (down, or no sample of the primary that old yet).
    if (lagSeconds !== null)
      add(
        'gauge',
        'foresight_replica_lag_seconds',
        'How long ago the primary was at the position the replica has replayed to (at most).',
        [[{}, lagSeconds]],
      );
  }
  const label = (o: OutcomeRow) => ({ model_version: o.modelVersion, policy: o.policy });
  add(
    'counter',
    'foresight_impressions_total',
    'Items served in stored forecasts, per model version and serving policy.',
    outcomes.map((o) => [label(o), o.impressions]),
  );
  add(
    'counter',
    'foresight_feedback_total',
    'Impressions followed by linked feedback (recordEvents forecastId), each counted once per outcome.',
    outcomes.flatMap((o): [Labels, number][] => [
      [{ ...label(o), outcome: 'click' }, o.clicks],
      [{ ...label(o), outcome: 'cart' }, o.carts],
      [{ ...label(o), outcome: 'purchase' }, o.purchases],
    ]),
  );
  return registry.metrics();
}

/** The Content-Type of renderMetrics' text. */
export const METRICS_CONTENT_TYPE = new Registry().contentType;
