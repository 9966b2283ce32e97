// Prometheus text exposition of the gateway's own counters (GET /metrics): merged forecast
// batches and their sizes, ONNX calls and their time, queue depth and overload rejections.
import type { OutcomeRow } from '../db/outcomes.js';
import type { InferenceCounters } from './counters.js';

const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

function metric(
  lines: string[],
  name: string,
  type: string,
  help: string,
  samples: [string, number][],
) {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
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
export function renderMetrics(
  counters: InferenceCounters,
  info: { models: readonly ServingInfo[]; storage: string },
  outcomes: readonly OutcomeRow[] = [],
): string {
  const { forecast: batches, modelCalls, encoderRuns } = counters;
  const lines: string[] = [];
  metric(
    lines,
    'foresight_info',
    'gauge',
    'Serving model (one per dataset), its execution provider and the storage back-end in use.',
    info.models.map((m): [string, number] => [
      `{model_version="${m.modelVersion}",dataset="${m.dataset}",execution_provider="${m.provider}",storage="${info.storage}"}`,
      1,
    ]),
  );
  metric(
    lines,
    'foresight_gateway_workers',
    'gauge',
    'Gateway processes the counters below are summed over (GATEWAY_WORKERS).',
    [['', counters.workers]],
  );
  metric(lines, 'foresight_forecast_batches_total', 'counter', 'Merged forecast batches run.', [
    ['', batches.batches],
  ]);
  metric(lines, 'foresight_forecasts_total', 'counter', 'Forecasts computed.', [
    ['', batches.items],
  ]);
  metric(
    lines,
    'foresight_forecast_rejected_total',
    'counter',
    'Forecasts refused because the queue was full.',
    [['', batches.rejected]],
  );
  metric(lines, 'foresight_forecast_queue_depth', 'gauge', 'Forecasts waiting for a batch.', [
    ['', batches.queueDepth],
  ]);
  const sizes = Object.entries(batches.batchSizes).map(([k, n]) => [Number(k), n] as const);
  metric(lines, 'foresight_forecast_batch_size', 'histogram', 'Forecasts per merged batch.', [
    ...SIZE_BUCKETS.map((le): [string, number] => [
      `_bucket{le="${le}"}`,
      sizes.filter(([k]) => k <= le).reduce((a, [, c]) => a + c, 0),
    ]),
    ['_bucket{le="+Inf"}', batches.batches],
    ['_sum', batches.items],
    ['_count', batches.batches],
  ]);
  const calls = Object.entries(modelCalls);
  metric(
    lines,
    'foresight_onnx_calls_total',
    'counter',
    'Model calls: one per merged batch and graph.',
    calls.map(([m, s]) => [`{model="${m}"}`, s.calls]),
  );
  metric(
    lines,
    'foresight_onnx_runs_total',
    'counter',
    'ONNX Runtime session runs: an encoder call runs once per history-length group (at most 3).',
    calls.map(([m, s]) => [`{model="${m}"}`, m === 'encoder' ? encoderRuns : s.calls]),
  );
  metric(
    lines,
    'foresight_onnx_items_total',
    'counter',
    'Rows run through ONNX Runtime.',
    calls.map(([m, s]) => [`{model="${m}"}`, s.items]),
  );
  metric(
    lines,
    'foresight_onnx_seconds_total',
    'counter',
    'Time spent in ONNX Runtime calls.',
    calls.map(([m, s]) => [`{model="${m}"}`, Number((s.ms / 1000).toFixed(6))]),
  );
  const perModel = counters.models ?? [];
  const model = (m: { dataset: string; modelVersion: string }, extra = '') =>
    `{dataset="${m.dataset}",model_version="${m.modelVersion}"${extra}}`;
  metric(
    lines,
    'foresight_model_forecasts_total',
    'counter',
    "Forecasts computed by each dataset's serving engine (since it was loaded).",
    perModel.map((m) => [model(m), m.forecasts]),
  );
  metric(
    lines,
    'foresight_model_onnx_calls_total',
    'counter',
    'Model calls per serving model and graph.',
    perModel.flatMap((m) =>
      Object.entries(m.modelCalls).map(([g, s]): [string, number] => [
        model(m, `,model="${g}"`),
        s.calls,
      ]),
    ),
  );
  const label = (o: OutcomeRow, extra = '') =>
    `{model_version="${o.modelVersion}",policy="${o.policy}"${extra}}`;
  metric(
    lines,
    'foresight_impressions_total',
    'counter',
    'Items served in stored forecasts, per model version and serving policy.',
    outcomes.map((o) => [label(o), o.impressions]),
  );
  metric(
    lines,
    'foresight_feedback_total',
    'counter',
    'Impressions followed by linked feedback (recordEvents forecastId), each counted once per outcome.',
    outcomes.flatMap((o): [string, number][] => [
      [label(o, ',outcome="click"'), o.clicks],
      [label(o, ',outcome="cart"'), o.carts],
      [label(o, ',outcome="purchase"'), o.purchases],
    ]),
  );
  return `${lines.join('\n')}\n`;
}
