// The live counters of /metrics as a summary a shop's staff can read: forecasts served and
// their rate, how full the batches run, model time per call, and what shoppers did with what
// they were shown. Rates are the change between two reads of /metrics (every REFRESH_MS).

/** One sample of the Prometheus text exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export const REFRESH_MS = 5000;

/** Parses the text exposition (comments and histogram buckets skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/i.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-z_][a-z0-9_]*)="((?:[^"\\]|\\.)*)"/gi))
      labels[k as string] = (v as string).replace(/\\(.)/g, '$1');
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (samples: Sample[], name: string, where: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

/** What the summary shows, from one read of /metrics and the read before it. */
export interface LiveSummary {
  forecasts: number;
  /** Forecasts per second since the previous read; null on the first read. */
  forecastsPerSecond: number | null;
  rejected: number;
  queueDepth: number;
  meanBatchSize: number | null;
  /** Milliseconds per model call, by graph (encoder, scorer…). */
  msPerCall: { graph: string; ms: number }[];
  impressions: number;
  clickRate: number | null;
  purchaseRate: number | null;
}

export function summarise(
  now: Sample[],
  before: { samples: Sample[]; seconds: number } | null,
): LiveSummary {
  const forecasts = sum(now, 'foresight_forecasts_total');
  const batches = sum(now, 'foresight_forecast_batches_total');
  const impressions = sum(now, 'foresight_impressions_total');
  const graphs = [
    ...new Set(
      now.filter((s) => s.name === 'foresight_onnx_calls_total').map((s) => s.labels.model),
    ),
  ].filter((g): g is string => g !== undefined);
  return {
    forecasts,
    forecastsPerSecond:
      before && before.seconds > 0
        ? Math.max(0, forecasts - sum(before.samples, 'foresight_forecasts_total')) / before.seconds
        : null,
    rejected: sum(now, 'foresight_forecast_rejected_total'),
    queueDepth: sum(now, 'foresight_forecast_queue_depth'),
    meanBatchSize: batches > 0 ? forecasts / batches : null,
    msPerCall: graphs.flatMap((graph) => {
      const calls = sum(now, 'foresight_onnx_calls_total', { model: graph });
      const s = sum(now, 'foresight_onnx_seconds_total', { model: graph });
      return calls > 0 ? [{ graph, ms: (1000 * s) / calls }] : [];
    }),
    impressions,
    clickRate:
      impressions > 0
        ? sum(now, 'foresight_feedback_total', { outcome: 'click' }) / impressions
        : null,
    purchaseRate:
      impressions > 0
        ? sum(now, 'foresight_feedback_total', { outcome: 'purchase' }) / impressions
        : null,
  };
}

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)} %`);

/** The summary as label → sentence pairs, for a definition list. */
export function summaryLines(s: LiveSummary): [string, string][] {
  return [
    [
      'Forecasts served',
      `${s.forecasts.toLocaleString('en')} since start` +
        (s.forecastsPerSecond === null
          ? ''
          : `, ${s.forecastsPerSecond.toFixed(2)} per second over the last ${REFRESH_MS / 1000} s`),
    ],
    [
      'Batching',
      s.meanBatchSize === null
        ? 'no batch run yet'
        : `${s.meanBatchSize.toFixed(1)} forecasts per model batch on average; ` +
          `${s.queueDepth} waiting now; ${s.rejected} refused (queue full)`,
    ],
    [
      'Model time',
      s.msPerCall.length === 0
        ? 'no model call yet'
        : s.msPerCall.map((c) => `${c.graph} ${c.ms.toFixed(1)} ms per call`).join(' · '),
    ],
    [
      'Shoppers’ response',
      s.impressions === 0
        ? 'no item shown yet'
        : `${s.impressions.toLocaleString('en')} items shown; ${pct(s.clickRate)} clicked, ` +
          `${pct(s.purchaseRate)} bought (feedback linked to a forecast)`,
    ],
  ];
}
