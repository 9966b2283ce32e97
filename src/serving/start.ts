// The models a gateway starts with (MODEL_DIRS, one per dataset): each admitted as a rollout
// admits one (admit.ts), its item embeddings brought up to date before the gateway listens, and
// the registry and run-time rollouts that serve and switch them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { EmbeddingSlot } from '../db/embedding-slots.js';
import type { ReadRouter } from '../db/read-routing.js';
import { ForecastEngine } from '../forecast/engine.js';
import { withTerms } from '../forecast/terms/index.js';
import { readManifest } from '../inference/manifest.js';
import { Model } from '../inference/model.js';
import { IntentModel } from '../intent/model.js';
import { log } from '../log.js';
import { admitModel, type ModelFactory } from './admit.js';
import { syncItemEmbeddings } from './embeddings.js';
import { judgeModel } from './gate.js';
import { recordGate } from '../db/model-versions.js';
import type { ServingModel } from './leases.js';
import { ModelRegistry } from './registry.js';
import { ModelRollouts } from './rollouts.js';

/** What a gateway process serves: the registry, its rollouts, and how to close them. */
export interface Serving {
  registry: ModelRegistry;
  rollouts: ModelRollouts;
  close(): Promise<void>;
}

/** How this gateway opens models and builds engines (provider, threads, batching, retrieval). */
function modelFactory(
  db: Db,
  config: Config,
  intent: IntentModel | null,
  reads: ReadRouter | null = null,
): ModelFactory {
  return {
    load: (dir) =>
      withTerms(
        Model.load(dir, config.inference.provider, config.inference.threads, {
          worker: config.inference.worker,
        }),
      ),
    createEngine: (model: Model, embeddingSlot: EmbeddingSlot) =>
      new ForecastEngine(db, model, {
        batching: config.inference,
        retrieval: config.retrieval,
        intent,
        embeddingSlot,
        reads,
      }),
  };
}

/**
 * The model directories that hold a model, each with its dataset; a directory without
 * model.json is skipped with a line (so that the data API still starts on a bare checkout, and
 * a directory whose model is still being trained joins at the next start). Two models of one
 * dataset are refused.
 */
async function modelDirectories(config: Config): Promise<{ dir: string; dataset: string }[]> {
  const found: { dir: string; dataset: string }[] = [];
  for (const dir of config.modelDirs) {
    if (!existsSync(path.join(dir, 'model.json'))) {
      log.warn(`no model in ${dir} (model.json missing): its dataset is served by fallbacks`);
      continue;
    }
    const { dataset } = await readManifest(dir);
    const twin = found.find((f) => f.dataset === dataset);
    if (twin) {
      throw new ConfigError(
        `invalid configuration:\n  MODEL_DIRS: ${twin.dir} and ${dir} are both models of dataset ` +
          `${dataset}: list one model directory per dataset (roll a new one out with rolloutModel)`,
      );
    }
    found.push({ dir, dataset });
  }
  return found;
}

/**
 * Admits the models of MODEL_DIRS and writes each one's item embeddings where they are missing
 * or stale, for its own dataset's items, in the slot that already holds its version (else slot
 * a): a restart after a rollout finds them where the rollout wrote them. Empty when no
 * directory holds a model (forecasts then answer UNAVAILABLE).
 */
async function admitAll(
  db: Db,
  dirs: readonly { dir: string }[],
  factory: ModelFactory,
): Promise<ServingModel[]> {
  const admitted: ServingModel[] = [];
  try {
    for (const { dir } of dirs) {
      const admission = await admitModel(path.resolve(dir), {
        db,
        factory,
        servingOf: () => undefined, // one model per dataset (modelDirectories)
        scope: 'start-up',
      });
      if (!admission.admitted) {
        const failed = admission.checks.filter((c) => !c.passed);
        throw new ConfigError(
          `the model in ${dir} cannot serve: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
        );
      }
      const serving = admission.admitted;
      admitted.push(serving);
      const { model, embeddingSlot: slot } = serving.engine;
      log.info(
        `model ${model.version} (${model.manifest.dataset}) on ONNX Runtime ${model.provider.toUpperCase()}` +
          (model.providerNote ? ` (${model.providerNote})` : ''),
      );
      const synced = await syncItemEmbeddings(db, model, { slot });
      // Start-up is not gated: MODEL_DIRS is the operator's choice, and a model directory made
      // before the gate existed may not carry the figures (docs/rollout.md, "The rollout gate").
      // Its verdict is recorded and shown all the same (modelStatus), and a refusal is logged.
      const verdict = judgeModel(model.manifest);
      await recordGate(db, model.version, {
        gate: verdict,
        admittedBy: 'START_UP',
        overrideReason: null,
      });
      if (!verdict.passed)
        log.warn(
          { version: model.version, gate: verdict },
          `model ${model.version} serves from MODEL_DIRS although rolloutModel would refuse it: it ${verdict.detail}`,
        );
      if (synced.total > 0) {
        log.info(
          `${model.manifest.dataset} item embeddings written (${slot === 'a' ? 'embedding' : 'embedding_b'}): ` +
            `${synced.learned} learned, ${synced.content} from the content tower`,
        );
      }
    }
  } catch (err) {
    await closeAll(admitted);
    throw err;
  }
  return admitted;
}

async function closeAll(models: readonly ServingModel[]): Promise<void> {
  // Forecasts accepted before the stop are answered before their model and pool go away.
  await Promise.all(models.map((m) => m.engine.close()));
  await Promise.all(models.map((m) => m.engine.model.release()));
}

/** The purchase-intent model, or null (and a line saying so) when its directory has none. */
async function loadIntentModel(config: Config): Promise<IntentModel | null> {
  if (!existsSync(path.join(config.intentModelDir, 'intent.json'))) {
    log.warn(`no purchase-intent model in ${config.intentModelDir}: purchaseIntent is null`);
    return null;
  }
  const intent = await IntentModel.load(config.intentModelDir, config.inference.provider);
  log.info(`purchase-intent model ${intent.version} on ${intent.provider.toUpperCase()}`);
  return intent;
}

/**
 * Brings every configured model's item embeddings up to date, then closes the models: a
 * cluster's primary does this once before it forks the workers (src/cluster.ts).
 */
export async function prepareEmbeddings(db: Db, config: Config): Promise<void> {
  const dirs = await modelDirectories(config);
  await closeAll(await admitAll(db, dirs, modelFactory(db, config, null)));
}

/**
 * The models of MODEL_DIRS serving (one per dataset), and the run-time rollouts that switch
 * them; null without any model.
 */
export async function startServing(
  db: Db,
  config: Config,
  /** Where forecasts read (READ_DATABASE_URL); null = all on `db`. */
  reads: ReadRouter | null = null,
): Promise<Serving | null> {
  const dirs = await modelDirectories(config);
  if (dirs.length === 0) return null;
  const intent = await loadIntentModel(config);
  const factory = modelFactory(db, config, intent, reads);
  let admitted: ServingModel[];
  try {
    admitted = await admitAll(db, dirs, factory);
  } catch (err) {
    await intent?.release();
    throw err;
  }
  const registry = new ModelRegistry(admitted);
  const rollouts = new ModelRollouts({
    db,
    registry,
    ...factory,
    workers: config.workers,
  });
  return {
    registry,
    rollouts,
    close: async () => {
      await closeAll(registry.loaded());
      await intent?.release();
    },
  };
}
