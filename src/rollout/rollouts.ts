// Run-time model rollout and rollback for one gateway process (docs/rollout.md): a candidate
// directory is validated (validate.ts), then the slot switches to it (slot.ts) with the item
// embeddings rewritten in one transaction; the model it replaced stays loaded for a rollback.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/client.js';
import type { ForecastEngine } from '../forecast/engine.js';
import type { Model } from '../inference/model.js';
import {
  finishEmbeddings,
  recordModelVersion,
  writeStaleEmbeddings,
} from '../retrieval/embeddings.js';
import { DrainTimeoutError, type EngineSlot, type ServingModel } from './slot.js';
import { validateCandidate, type ModelCheck } from './validate.js';

export type RolloutKind = 'ROLLOUT' | 'ROLLBACK';

/** One switch of the serving model. */
export interface RolloutRecord {
  kind: RolloutKind;
  /** Version served before the switch. */
  from: string;
  to: string;
  directory: string;
  /** The candidate's checks (all passed); empty for a rollback. */
  checks: ModelCheck[];
  /** How long new requests waited: draining, embedding rewrite, swap. */
  pauseMs: number;
  /** Item embeddings rewritten for the new model. */
  embeddingsWritten: number;
  switchedAt: Date;
}

/** A refused rollout or rollback; `code` is the GraphQL error code the resolvers answer with. */
export class RolloutError extends Error {
  constructor(
    readonly code:
      | 'BAD_USER_INPUT'
      | 'MODEL_VALIDATION_FAILED'
      | 'ROLLOUT_CONFLICT'
      | 'NOT_FOUND'
      | 'UNAVAILABLE',
    message: string,
    readonly extensions: Record<string, unknown> = {},
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'RolloutError';
  }
}

export interface RolloutOptions {
  db: Db;
  slot: EngineSlot;
  /** Loads a model directory as the gateway serves it (provider, threads, worker). */
  load: (dir: string) => Promise<Model>;
  /** A forecast engine over a loaded model, configured as the serving one. */
  createEngine: (model: Model) => ForecastEngine;
  /** Gateway processes (GATEWAY_WORKERS): a rollout switches one process only. */
  workers: number;
  /** What relative directories are resolved against (default: the process's cwd). */
  cwd?: string;
  /** Where problems after a completed switch go (the switch itself is not undone by them). */
  log?: (line: string, err: unknown) => void;
}

/** How many switches `history` keeps. */
const HISTORY = 20;

export class ModelRollouts {
  private running: { directory: string; startedAt: Date } | null = null;
  private readonly records: RolloutRecord[] = [];

  constructor(private readonly options: RolloutOptions) {}

  get slot(): EngineSlot {
    return this.options.slot;
  }

  /** The rollout or rollback in progress (its directory), or null. */
  get inProgress(): { directory: string; startedAt: Date } | null {
    return this.running;
  }

  /** This process's switches, newest first. */
  get history(): readonly RolloutRecord[] {
    return this.records;
  }

  /** Validates the model in `directory` and, when every check passes, switches to it. */
  async rollout(directory: string): Promise<RolloutRecord> {
    this.refuseInCluster();
    const dir = path.resolve(this.options.cwd ?? process.cwd(), directory);
    return this.exclusive(dir, async () => {
      if (!isModelDirectory(dir)) {
        throw new RolloutError(
          'BAD_USER_INPUT',
          `directory: ${dir} is not a directory with a model.json`,
          { field: 'directory' },
        );
      }
      const { checks, model } = await validateCandidate(dir, {
        db: this.options.db,
        serving: this.slot.current.engine.model,
        load: this.options.load,
      });
      if (!model) {
        const failed = checks.filter((c) => !c.passed).map((c) => c.name);
        throw new RolloutError(
          'MODEL_VALIDATION_FAILED',
          `the model in ${dir} failed validation (${failed.join(', ')}); the serving model is unchanged`,
          { checks },
        );
      }
      const next = {
        engine: this.options.createEngine(model),
        directory: dir,
        loadedAt: new Date(),
      };
      try {
        return await this.switchTo('ROLLOUT', next, checks);
      } catch (err) {
        next.engine.close();
        await model.release();
        throw err;
      }
    });
  }

  /** Switches back to the model served before the last switch (its embeddings rewritten). */
  async rollback(): Promise<RolloutRecord> {
    this.refuseInCluster();
    const previous = this.slot.previous;
    return this.exclusive(previous?.directory ?? '(rollback)', async () => {
      if (!previous) {
        throw new RolloutError(
          'NOT_FOUND',
          `no previous model to roll back to: this process has served only ${this.slot.current.engine.model.version} since it started`,
        );
      }
      return this.switchTo('ROLLBACK', previous, []);
    });
  }

  private refuseInCluster(): void {
    if (this.options.workers > 1) {
      throw new RolloutError(
        'UNAVAILABLE',
        `runtime model rollout switches one gateway process, and this gateway runs ${this.options.workers} (GATEWAY_WORKERS): ` +
          'restart the cluster with MODEL_DIR set to the new model directory instead (docs/rollout.md)',
        { retryable: false },
      );
    }
  }

  private async exclusive<T>(directory: string, run: () => Promise<T>): Promise<T> {
    if (this.running) {
      throw new RolloutError(
        'ROLLOUT_CONFLICT',
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

  private async switchTo(
    kind: RolloutKind,
    next: ServingModel,
    checks: ModelCheck[],
  ): Promise<RolloutRecord> {
    const { db } = this.options;
    const model = next.engine.model;
    const from = this.slot.current.engine.model.version;
    let switched;
    try {
      switched = await this.slot.switchTo(next, () =>
        db.transaction(async (tx) => {
          await recordModelVersion(tx, model);
          return writeStaleEmbeddings(tx, model);
        }),
      );
    } catch (err) {
      if (err instanceof DrainTimeoutError) {
        throw new RolloutError(
          'UNAVAILABLE',
          `${err.message}: retry when the gateway is quieter`,
          { retryable: true },
          { cause: err },
        );
      }
      throw err;
    }
    const { result: written, pauseMs, retired } = switched;
    const record: RolloutRecord = {
      kind,
      from,
      to: model.version,
      directory: next.directory,
      checks,
      pauseMs,
      embeddingsWritten: written.total,
      switchedAt: new Date(),
    };
    this.records.unshift(record);
    this.records.length = Math.min(this.records.length, HISTORY);
    // The switch is done: what follows cannot undo it, so its failures are logged, not thrown.
    const log = this.options.log ?? ((line, err) => console.error(line, err));
    await finishEmbeddings(db, model, written.total).catch((err: unknown) =>
      log(`model ${model.version}: vacuuming items after the switch failed`, err),
    );
    if (retired) {
      retired.engine.close();
      await retired.engine.model
        .release()
        .catch((err: unknown) => log(`model ${retired.engine.model.version}: release failed`, err));
    }
    return record;
  }
}

function isModelDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() && statSync(path.join(dir, 'model.json')).isFile();
  } catch {
    return false;
  }
}
