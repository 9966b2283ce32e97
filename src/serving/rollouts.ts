// Run-time model rollout and rollback, per dataset, for one gateway process (docs/rollout.md):
// a candidate must pass the rollout gate (gate.ts: it beats its best baseline) unless the caller
// overrides it with a reason, and is admitted (admit.ts, every check of validate.ts); its item embeddings are written into the
// embedding slot its dataset's serving model does not read, while that model goes on serving;
// then the dataset's models (leases.ts) switch to it in memory. The model it replaced stays
// loaded, its embeddings in place, for a rollback.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/client.js';
import { log } from '../log.js';
import { ErrorCode, CodedError } from '../errors.js';
import { POPULARITY_VERSION } from '../forecast/forecast.js';
import type { ModelRegistry } from './registry.js';
import { vacuumItems, writeStaleEmbeddings, recordModel } from './embeddings.js';
import { DrainTimeoutError, type DatasetModels, type ServingModel } from './leases.js';
import { admitModel, type ModelFactory } from './admit.js';
import type { ModelCheck } from './validate.js';
import { markEmbedded, recordGate } from '../db/model-versions.js';
import { readManifest, type ModelManifest } from '../inference/manifest.js';
import { judgeModel, type GateVerdict } from './gate.js';

/** What the rollout gate said of a rolled-out model, and the reason it was overridden. */
export interface GateRecord {
  verdict: GateVerdict;
  /** The caller's reason when the model serves although it did not pass; else null. */
  overrideReason: string | null;
}

/** Longest override reason kept (it is logged and stored). */
export const MAX_OVERRIDE_REASON = 1000;

export type RolloutKind = 'ROLLOUT' | 'ROLLBACK';

/** One switch of a dataset's serving model. */
export interface RolloutRecord {
  kind: RolloutKind;
  dataset: string;
  /** Version served before the switch (`popularity-baseline` for a dataset's first model). */
  from: string;
  to: string;
  directory: string;
  /** The candidate's checks (all passed); empty for a rollback. */
  checks: ModelCheck[];
  /** The rollout gate's verdict (and an override's reason); null for a rollback. */
  gate: GateRecord | null;
  /** How long new requests were held: the in-memory switch alone. */
  pauseMs: number;
  /** Writing (and vacuuming) the new model's embeddings, while the old model served. */
  writeMs: number;
  /** Item embeddings written for the new model (its slot's stale rows). */
  embeddingsWritten: number;
  switchedAt: Date;
}

/** `load` and `createEngine`: how this gateway opens models (admit.ts). */
export interface RolloutOptions extends ModelFactory {
  db: Db;
  registry: ModelRegistry;
  /** Gateway processes (GATEWAY_WORKERS): a rollout switches one process only. */
  workers: number;
  /** What relative directories are resolved against (default: the process's cwd). */
  cwd?: string;
  /**
   * Rows per UPDATE while a switch writes embeddings. Default: 500 on PostgreSQL (forecasts
   * read beside the write on other connections); 10 on PGlite, whose one connection runs one
   * statement at a time, so that each of a forecast's statements waits for one short chunk at
   * most (writeStaleEmbeddings).
   */
  writeChunk?: number;
  /**
   * When the dead index entries a switch's write leaves are vacuumed: before the switch
   * (default on PostgreSQL, where a VACUUM does not hold up the forecasts on other
   * connections), or at the next start-up (default on PGlite, whose one connection a VACUUM
   * of the whole catalogue holds for tens of seconds; recall of the serving slot dips a little
   * meanwhile, see vacuumItems).
   */
  vacuum?: 'before-switch' | 'at-start-up';
}

/** When a switch abandoned for requests that held the old model may be tried again. */
const RETRY_AFTER_DRAIN_MS = 5_000;

/** How many switches `history` keeps. */
const HISTORY = 20;

export class ModelRollouts {
  private running: { directory: string; startedAt: Date } | null = null;
  private readonly records: RolloutRecord[] = [];

  constructor(private readonly options: RolloutOptions) {}

  get registry(): ModelRegistry {
    return this.options.registry;
  }

  /** The rollout or rollback in progress (its directory), or null. */
  get inProgress(): { directory: string; startedAt: Date } | null {
    return this.running;
  }

  /** This process's switches, newest first. */
  get history(): readonly RolloutRecord[] {
    return this.records;
  }

  /**
   * Validates the model in `directory` and, when it passes the rollout gate (or `override`
   * gives a reason to serve it anyway) and every check, makes it serve its dataset (the
   * dataset's first model when none served it).
   */
  async rollout(directory: string, override?: { reason: string } | null): Promise<RolloutRecord> {
    this.refuseInCluster();
    const reason = override ? overrideReason(override.reason) : null;
    const dir = path.resolve(this.options.cwd ?? process.cwd(), directory);
    return this.exclusive(dir, async () => {
      if (!isModelDirectory(dir)) {
        throw new CodedError(
          ErrorCode.BAD_USER_INPUT,
          `directory: ${dir} is not a directory with a model.json`,
          { field: 'directory' },
        );
      }
      const gate = await gateModel(dir, reason);
      const { admitted, checks } = await admitModel(dir, {
        db: this.options.db,
        factory: this.options,
        servingOf: (dataset) => this.registry.modelsOf(dataset),
        scope: 'all',
      });
      if (!admitted) {
        const failed = checks.filter((c) => !c.passed).map((c) => c.name);
        throw new CodedError(
          ErrorCode.MODEL_VALIDATION_FAILED,
          `the model in ${dir} failed validation (${failed.join(', ')}); the serving model is unchanged`,
          { checks },
        );
      }
      try {
        return await this.switchTo('ROLLOUT', admitted, checks, gate);
      } catch (err) {
        await admitted.engine.close();
        await admitted.engine.model.release();
        throw err;
      }
    });
  }

  /**
   * Switches `dataset` back to the model it served before its last switch, whose embeddings
   * are still in their slot: only the rows changed since are rewritten. `dataset` may be left
   * out while one dataset has a model.
   */
  async rollback(dataset?: string | null): Promise<RolloutRecord> {
    this.refuseInCluster();
    const served = this.registry.datasets;
    if (dataset == null && served.length > 1) {
      throw new CodedError(
        ErrorCode.BAD_USER_INPUT,
        `dataset: required, this gateway serves models for ${served.join(', ')}`,
        { field: 'dataset' },
      );
    }
    const name = dataset ?? served[0];
    const models = name === undefined ? undefined : this.registry.modelsOf(name);
    const previous = models?.previous;
    return this.exclusive(previous?.directory ?? '(rollback)', async () => {
      if (!models) {
        throw new CodedError(
          ErrorCode.NOT_FOUND,
          name === undefined
            ? 'no model to roll back: this process serves none'
            : `no model serves dataset ${name} (served: ${served.join(', ') || 'none'})`,
          { field: 'dataset' },
        );
      }
      if (!previous) {
        throw new CodedError(
          ErrorCode.NOT_FOUND,
          `no previous model to roll back to: this process has served only ${models.current.engine.model.version} for ${name} since it started`,
        );
      }
      return this.switchTo('ROLLBACK', previous, [], null);
    });
  }

  private refuseInCluster(): void {
    if (this.options.workers > 1) {
      throw new CodedError(
        ErrorCode.UNAVAILABLE,
        `runtime model rollout switches one gateway process, and this gateway runs ${this.options.workers} (GATEWAY_WORKERS): ` +
          'restart the cluster with MODEL_DIRS (or MODEL_DIR) naming the new model directory instead (docs/rollout.md)',
      );
    }
  }

  private async exclusive<T>(directory: string, run: () => Promise<T>): Promise<T> {
    if (this.running) {
      throw new CodedError(
        ErrorCode.ROLLOUT_CONFLICT,
        `a rollout to ${this.running.directory} is in progress since ${this.running.startedAt.toISOString()}: wait for it, then check modelStatus`,
      );
    }
    this.running = { directory, startedAt: new Date() };
    try {
      return await run();
    } finally {
      this.running = null;
    }
  }

  /**
   * The switch to `next` (docs/rollout.md, "What pauses"): wait for requests on the model
   * that last read `next`'s slot, write `next`'s stale rows there in chunks (the serving model
   * goes on serving from its own slot), vacuum, write what changed meanwhile, switch in memory;
   * then wait for the requests still on the old model and write what they changed.
   */
  private async switchTo(
    kind: RolloutKind,
    next: ServingModel,
    checks: ModelCheck[],
    gate: GateRecord | null,
  ): Promise<RolloutRecord> {
    const { db } = this.options;
    const model = next.engine.model;
    const dataset = model.manifest.dataset;
    const target = next.engine.embeddingSlot;
    const models = this.registry.modelsOf(dataset);
    const old = models?.current ?? null;
    const write = (chunk?: number) =>
      writeStaleEmbeddings(db, model, { slot: target, ...(chunk && { chunk }) });

    const started = performance.now();
    // The model kept for a rollback reads the target slot: nobody may still be using it.
    const reader = models?.previous;
    if (models && reader && reader !== next) await this.drained(models, reader, true);
    await recordModel(db, model);
    if (gate)
      await recordGate(db, model.version, {
        gate: gate.verdict,
        admittedBy: 'ROLLOUT',
        overrideReason: gate.overrideReason,
      });
    const written = await write(this.options.writeChunk ?? (db.kind === 'pglite' ? 10 : 500));
    // Rewritten rows leave dead entries in both HNSW indexes (an UPDATE re-inserts the row).
    const vacuum = this.options.vacuum ?? (db.kind === 'pglite' ? 'at-start-up' : 'before-switch');
    await vacuumItems(db, written.total, vacuum === 'at-start-up');
    // Items changed while the chunks were written (upsertItem clears both slots' content
    // embeddings; the serving model re-embedded them in its own slot only).
    const caughtUp = await write();
    const writeMs = performance.now() - started;

    let pauseMs = 0;
    let retired: ServingModel | null = null;
    if (models) ({ retired, pauseMs } = models.switchTo(next));
    else this.registry.add(next);
    const record: RolloutRecord = {
      kind,
      dataset,
      from: old?.engine.model.version ?? POPULARITY_VERSION,
      to: model.version,
      directory: next.directory,
      checks,
      gate,
      pauseMs,
      writeMs,
      embeddingsWritten: written.total + caughtUp.total,
      switchedAt: new Date(),
    };
    this.records.unshift(record);
    this.records.length = Math.min(this.records.length, HISTORY);

    // The switch is done: what follows cannot undo it, so its failures are logged, not thrown.
    const after = async () => {
      // Requests that started before the switch may still change items with the old model
      // (its slot only): once they are done, the new model embeds what they changed.
      if (models && old) await this.drained(models, old, false);
      const late = await write();
      record.embeddingsWritten += late.total;
      await markEmbedded(db, model.version);
    };
    await after().catch((err: unknown) =>
      log.error(
        { err },
        `model ${model.version}: finishing its embeddings after the switch failed`,
      ),
    );
    if (retired) {
      await retired.engine.close();
      await retired.engine.model
        .release()
        .catch((err: unknown) =>
          log.error({ err }, `model ${retired.engine.model.version}: release failed`),
        );
    }
    return record;
  }

  /**
   * Waits for the requests holding `serving`. Before a write (`refuse`), requests that do not
   * finish in time abandon the switch (UNAVAILABLE, with a retry hint); after it they are only logged.
   */
  private async drained(
    models: DatasetModels,
    serving: ServingModel,
    refuse: boolean,
  ): Promise<void> {
    try {
      await models.drain(serving);
    } catch (err) {
      if (!(err instanceof DrainTimeoutError)) throw err;
      if (refuse) {
        throw new CodedError(
          ErrorCode.UNAVAILABLE,
          `${err.message}, which reads the embedding slot the switch writes: the switch was abandoned ` +
            'and the serving model is unchanged; retry when the gateway is quieter',
          { retryAfterMs: RETRY_AFTER_DRAIN_MS },
          { cause: err },
        );
      }
      log.warn(
        { err },
        `${err.message}: items they change from now on get the new model's embeddings at the next sync (restart, rollback)`,
      );
    }
  }
}

/** The override's reason, trimmed; BAD_USER_INPUT when it says nothing or too much. */
function overrideReason(reason: string): string {
  const r = reason.trim();
  if (r === '')
    throw new CodedError(
      ErrorCode.BAD_USER_INPUT,
      'override.reason: say why this model should serve although it does not beat its baselines',
      { field: 'override.reason' },
    );
  if (r.length > MAX_OVERRIDE_REASON)
    throw new CodedError(
      ErrorCode.BAD_USER_INPUT,
      `override.reason: at most ${MAX_OVERRIDE_REASON} characters, got ${r.length}`,
      { field: 'override.reason' },
    );
  return r;
}

/**
 * The rollout gate on the model in `dir`: its verdict when it passes or `reason` overrides a
 * refusal (logged), else MODEL_BELOW_BASELINE / MODEL_NOT_EVALUATED with the verdict as
 * `extensions.gate`. An unreadable model.json is left to validation (the manifest check).
 */
async function gateModel(dir: string, reason: string | null): Promise<GateRecord | null> {
  let manifest: ModelManifest;
  try {
    manifest = await readManifest(dir);
  } catch {
    return null;
  }
  const verdict = judgeModel(manifest);
  if (verdict.passed) return { verdict, overrideReason: null };
  if (reason === null) {
    throw new CodedError(
      verdict.outcome === 'NO_METRICS'
        ? ErrorCode.MODEL_NOT_EVALUATED
        : ErrorCode.MODEL_BELOW_BASELINE,
      `the model in ${dir} ${verdict.detail.replace(/^model\.json/, 'has a model.json that')}; the serving model is unchanged ` +
        '(to serve it anyway, pass override: { reason: "…" } to rolloutModel: the reason is logged and recorded)',
      { gate: verdict },
    );
  }
  log.warn(
    { version: manifest.version, dataset: manifest.dataset, directory: dir, gate: verdict, reason },
    `model ${manifest.version} rolled out over the rollout gate's refusal (${verdict.outcome}): ${reason}`,
  );
  return { verdict, overrideReason: reason };
}

function isModelDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && statSync(path.join(dir, 'model.json')).isFile();
  } catch {
    return false;
  }
}
