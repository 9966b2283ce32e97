// Admitting a model directory to serve its dataset, the one way start-up and rollouts both do
// it: load the model (its scoring terms bound), check it against this gateway's database, choose
// the embedding slot it will read, and wrap it in a forecast engine. Writing its embeddings is
// left to the caller: start-up writes them before it listens, a rollout while the old model
// goes on serving (rollouts.ts).
import type { Queryable } from '../db/client.js';
import { otherSlot, type EmbeddingSlot } from '../db/embedding-slots.js';
import type { ForecastEngine } from '../forecast/engine.js';
import type { Model } from '../inference/model.js';
import { slotHolding } from './embeddings.js';
import type { DatasetModels, ServingModel } from './leases.js';
import { validateCandidate, type ModelCheck } from './validate.js';

/** How this gateway opens models and builds engines over them (configured once, src/serving/start.ts). */
export interface ModelFactory {
  /** Loads a model directory as the gateway serves it (provider, threads, worker, terms bound). */
  load(dir: string): Promise<Model>;
  /** A forecast engine over a loaded model reading `slot`, configured as the serving ones. */
  createEngine(model: Model, slot: EmbeddingSlot): ForecastEngine;
}

export interface AdmitOptions {
  db: Queryable;
  factory: ModelFactory;
  /** Each dataset's models now (undefined: none serves it yet). */
  servingOf: (dataset: string) => DatasetModels | undefined;
  /** `all` for a rollout; `start-up` for the models a gateway starts with (validate.ts). */
  scope: 'all' | 'start-up';
}

/** A model admitted to serve, or the checks that refused it (nothing is left open then). */
export type Admission =
  { admitted: ServingModel; checks: ModelCheck[] } | { admitted: null; checks: ModelCheck[] };

/**
 * Admits the model in `dir` (absolute): every check of `scope` (validate.ts), then an engine
 * reading the embedding slot its dataset's serving model does not read, or — for a dataset's
 * first model — the slot that already holds its version (a restart after a rollout finds its
 * vectors where the rollout wrote them), else slot a. The caller owns the admitted model.
 */
export async function admitModel(dir: string, options: AdmitOptions): Promise<Admission> {
  const { db, factory } = options;
  const { checks, model } = await validateCandidate(dir, {
    db,
    serving: (dataset) => options.servingOf(dataset)?.current.engine.model ?? null,
    load: (d) => factory.load(d),
    scope: options.scope,
  });
  if (!model) return { admitted: null, checks };
  try {
    const current = options.servingOf(model.manifest.dataset)?.current;
    const slot = current ? otherSlot(current.engine.embeddingSlot) : await slotHolding(db, model);
    const engine = factory.createEngine(model, slot);
    return { admitted: { engine, directory: dir, loadedAt: new Date() }, checks };
  } catch (err) {
    await model.release();
    throw err;
  }
}
