// The models a gateway process serves: one per dataset (MODEL_DIRS), each switchable
// (DatasetModels, leases.ts). A request leases every dataset's serving engine when it starts and
// sends each forecast to the engine of its subject's dataset; a dataset without a model is
// served by the first dataset's engine, whose fallback chain ranks that dataset's popularity.
import type { EventEmitter } from 'node:events';
import { datasetOf } from '../db/events.js';
import type { Queryable } from '../db/client.js';
import { DatasetModels, type EngineLease, type ServingModel } from './leases.js';
import { subjectDataset, type Forecast, type ForecastRequest } from '../forecast/forecast.js';

export class ModelRegistry {
  private readonly byDataset = new Map<string, DatasetModels>();

  constructor(
    serving: readonly ServingModel[] = [],
    /** How long a dataset's `drain` waits (leases.ts). */
    private readonly drainTimeoutMs = 30_000,
  ) {
    for (const s of serving) this.add(s);
  }

  /** The datasets with a model, in the order they were added (MODEL_DIRS order first). */
  get datasets(): string[] {
    return [...this.byDataset.keys()];
  }

  get size(): number {
    return this.byDataset.size;
  }

  /** The dataset's models; undefined when no model serves it. */
  modelsOf(dataset: string): DatasetModels | undefined {
    return this.byDataset.get(dataset);
  }

  /** Serves `serving`'s dataset, which must have no model yet; returns its models. */
  add(serving: ServingModel): DatasetModels {
    const dataset = serving.engine.model.manifest.dataset;
    if (this.byDataset.has(dataset)) throw new Error(`dataset ${dataset} has a model already`);
    const models = new DatasetModels(serving, this.drainTimeoutMs);
    this.byDataset.set(dataset, models);
    return models;
  }

  /** Each dataset's serving model, in `datasets` order. */
  serving(): ServingModel[] {
    return [...this.byDataset.values()].map((m) => m.current);
  }

  /** Every loaded model: each dataset's serving one and the one kept for its rollback. */
  loaded(): ServingModel[] {
    return [...this.byDataset.values()].flatMap((s) =>
      s.previous ? [s.current, s.previous] : [s.current],
    );
  }

  /** The engines serving now, for one request (leases.ts: acquire). */
  acquire(): RegistryLease {
    return new RegistryLease(new Map([...this.byDataset].map(([d, s]) => [d, s.acquire()])));
  }

  /** acquire() for one HTTP exchange: released when `response` closes. */
  acquireFor(response: EventEmitter): RegistryLease {
    const lease = this.acquire();
    response.once('close', () => lease.release());
    return lease;
  }
}

/** One request's leases on the engines that served each dataset when it started. */
export class RegistryLease {
  constructor(private readonly leases: ReadonlyMap<string, EngineLease>) {}

  /** The lease on `dataset`'s own model; undefined when none serves it. */
  of(dataset: string): EngineLease | undefined {
    return this.leases.get(dataset);
  }

  /**
   * The engine that serves forecasts of `dataset`: its own model's, else the first dataset's
   * (whose fallback chain serves other datasets from their popularity); undefined without any.
   */
  engineFor(dataset: string | null): EngineLease | undefined {
    return (dataset === null ? undefined : this.leases.get(dataset)) ?? this.first();
  }

  /**
   * Forecasts for requests of any datasets: one batch per engine (each engine's batcher
   * merges it with other requests' batches), answers in the order asked.
   */
  async forecast(requests: readonly ForecastRequest[]): Promise<(Forecast | Error)[]> {
    const groups = new Map<EngineLease, number[]>();
    requests.forEach((r, i) => {
      const lease = this.engineFor(subjectDataset(r.subject, r.context));
      if (!lease) throw new Error('no forecast engine is loaded');
      const members = groups.get(lease);
      if (members) members.push(i);
      else groups.set(lease, [i]);
    });
    const out: (Forecast | Error)[] = new Array(requests.length);
    await Promise.all(
      [...groups].map(async ([lease, members]) => {
        const results = await lease.forecast(members.map((i) => requests[i] as ForecastRequest));
        members.forEach((i, k) => (out[i] = results[k] as Forecast | Error));
      }),
    );
    return out;
  }

  /** Writes the embeddings of changed items, each with its own dataset's model (if it has one). */
  async embedItems(q: Queryable, ids: readonly string[]): Promise<void> {
    const byDataset = new Map<string, string[]>();
    for (const id of ids) {
      const d = datasetOf(id);
      const mine = byDataset.get(d);
      if (mine) mine.push(id);
      else byDataset.set(d, [id]);
    }
    // One after another: they share the caller's transaction.
    for (const [dataset, mine] of byDataset) await this.leases.get(dataset)?.embedItems(q, mine);
  }

  /**
   * The repeat policy of `dataset`'s model: whether it leaves seen items out by default and the
   * repeat share its training measured (null when its model.json records none); null when no
   * model serves the dataset.
   */
  seenItemsDefault(
    dataset: string | null,
  ): { exclude: boolean; repeatShare: number | null } | null {
    const lease = dataset === null ? this.first() : this.leases.get(dataset);
    if (!lease) return null;
    const manifest = lease.engine.model.manifest;
    return {
      exclude: manifest.scorer?.excludeHistory ?? false,
      repeatShare: manifest.repeatPolicy?.repeatShare ?? null,
    };
  }

  release(): void {
    for (const lease of this.leases.values()) lease.release();
  }

  private first(): EngineLease | undefined {
    return this.leases.values().next().value;
  }
}
