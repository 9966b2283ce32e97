// The forecast log's retention job: every FORECAST_PRUNE_INTERVAL_S, the forecasts older than
// FORECAST_RETENTION_DAYS (the attribution window: feedback can name a forecast only while it
// is stored) are rolled up per day and deleted (db/retention.ts). Each gateway process runs it;
// the batches skip rows another process holds, so a cluster prunes each row once.
import type { Db } from '../db/client.js';
import { pruneForecasts, type PruneResult } from '../db/retention.js';
import type { Logger } from '../log.js';

export interface RetentionConfig {
  /** Days a served forecast is kept; 0 = forever (no job). */
  days: number;
  /** Seconds between runs. */
  intervalS: number;
}

const DAY_MS = 86_400_000;
/** Batches per run: one run stays short (~5,000 rows a batch); the next run goes on. */
const MAX_BATCHES_PER_RUN = 200;

export interface RetentionJob {
  /** One run now (the timer's runs call this too); resolves with what it pruned. */
  runOnce(now?: Date): Promise<PruneResult>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startForecastRetention(db: Db, config: RetentionConfig, log: Logger): RetentionJob {
  let running: Promise<PruneResult> | null = null;
  const runOnce = (now = new Date()): Promise<PruneResult> => {
    if (running) return running;
    const before = new Date(now.getTime() - config.days * DAY_MS);
    running = pruneForecasts(db, before, { maxBatches: MAX_BATCHES_PER_RUN })
      .then((result) => {
        if (result.deleted > 0)
          log.info({ ...result, before }, 'forecast retention: rolled up and deleted');
        return result;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer =
    config.days > 0
      ? setInterval(() => {
          runOnce().catch((err: unknown) => log.warn({ err }, 'forecast retention failed'));
        }, config.intervalS * 1000)
      : null;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
