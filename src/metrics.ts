// Prometheus text exposition of the gateway's own counters (GET /metrics): inference batches,
// their sizes and run time, queue depth and overload rejections.
import type { SchedulerStats } from './inference/scheduler.js';

const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export function renderMetrics(
  schedulers: Record<string, { stats: SchedulerStats }>,
  info: { modelVersion: string; provider: string; storage: string },
): string {
  const lines: string[] = [
    '# HELP foresight_info Model version, execution provider and storage back-end in use.',
    '# TYPE foresight_info gauge',
    `foresight_info{model_version="${info.modelVersion}",execution_provider="${info.provider}",storage="${info.storage}"} 1`,
    '# HELP foresight_inference_batches_total Model calls (merged batches).',
    '# TYPE foresight_inference_batches_total counter',
  ];
  const entries = Object.entries(schedulers);
  for (const [name, s] of entries) lines.push(`foresight_inference_batches_total{model="${name}"} ${s.stats.batches}`);
  lines.push(
    '# HELP foresight_inference_items_total Inputs run through the model.',
    '# TYPE foresight_inference_items_total counter',
  );
  for (const [name, s] of entries) lines.push(`foresight_inference_items_total{model="${name}"} ${s.stats.items}`);
  lines.push(
    '# HELP foresight_inference_rejected_total Inputs refused because the queue was full.',
    '# TYPE foresight_inference_rejected_total counter',
  );
  for (const [name, s] of entries) lines.push(`foresight_inference_rejected_total{model="${name}"} ${s.stats.rejected}`);
  lines.push(
    '# HELP foresight_inference_queue_depth Inputs waiting for a batch.',
    '# TYPE foresight_inference_queue_depth gauge',
  );
  for (const [name, s] of entries) lines.push(`foresight_inference_queue_depth{model="${name}"} ${s.stats.queueDepth}`);
  lines.push(
    '# HELP foresight_inference_batch_size Size of merged batches.',
    '# TYPE foresight_inference_batch_size histogram',
  );
  for (const [name, s] of entries) {
    const sizes = Object.entries(s.stats.batchSizes).map(([k, n]) => [Number(k), n] as const);
    for (const le of SIZE_BUCKETS) {
      const n = sizes.filter(([k]) => k <= le).reduce((a, [, c]) => a + c, 0);
      lines.push(`foresight_inference_batch_size_bucket{model="${name}",le="${le}"} ${n}`);
    }
    lines.push(`foresight_inference_batch_size_bucket{model="${name}",le="+Inf"} ${s.stats.batches}`);
    lines.push(`foresight_inference_batch_size_sum{model="${name}"} ${s.stats.items}`);
    lines.push(`foresight_inference_batch_size_count{model="${name}"} ${s.stats.batches}`);
  }
  lines.push(
    '# HELP foresight_inference_run_seconds_total Time spent in model calls.',
    '# TYPE foresight_inference_run_seconds_total counter',
  );
  for (const [name, s] of entries)
    lines.push(`foresight_inference_run_seconds_total{model="${name}"} ${(s.stats.runMsTotal / 1000).toFixed(6)}`);
  return `${lines.join('\n')}\n`;
}
