// modelStatus, rolloutModel and rollbackModel (schema/rollout.graphql) over the process's model
// registry (one model per dataset, src/serving/registry.ts) and rollout controller
// (src/serving/).
import type { Context } from '../context.js';
import type {
  DatasetModels,
  ModelGate,
  ModelRollout,
  Resolvers,
  ServedModel,
} from '../generated/graphql.js';
import { gatesOf, type GateRecordRow } from '../db/model-versions.js';
import type { GateVerdict } from '../serving/gate.js';
import { slotColumns } from '../db/embedding-slots.js';
import { type ModelRollouts, type RolloutRecord } from '../serving/rollouts.js';
import type { DatasetModels as ServedDataset, ServingModel } from '../serving/leases.js';
import { ErrorCode } from '../errors.js';
import { codedError } from '../errors.js';

function served(s: ServingModel | null | undefined): ServedModel | null {
  if (!s) return null;
  const model = s.engine.model;
  return {
    version: model.version,
    dataset: model.manifest.dataset,
    dim: model.manifest.dim,
    embeddingColumn: slotColumns(s.engine.embeddingSlot).embedding,
    directory: s.directory,
    provider: model.provider,
    loadedAt: s.loadedAt,
  };
}

/** A recorded or fresh gate verdict as the schema's ModelGate. */
function modelGate(g: GateRecordRow): ModelGate {
  const v = g.gate as GateVerdict;
  return {
    passed: v.passed,
    outcome: v.outcome,
    detail: v.detail,
    comparisons: v.comparisons,
    admittedBy: g.admittedBy,
    overrideReason: g.overrideReason,
    judgedAt: g.at,
  };
}

/** A switch as the schema's ModelRollout: its gate verdict as recorded at the switch. */
function rollout(r: RolloutRecord): ModelRollout {
  const { gate, ...rest } = r;
  return {
    ...rest,
    gate: gate
      ? modelGate({
          gate: gate.verdict,
          admittedBy: 'ROLLOUT',
          overrideReason: gate.overrideReason,
          at: r.switchedAt,
        })
      : null,
  };
}

function datasetModels(dataset: string, models: ServedDataset): DatasetModels {
  return {
    dataset,
    serving: served(models.current) as ServedModel,
    previous: served(models.previous),
  };
}

/** Runs a switch for this request, answering a refusal with its code. */
async function switchModel(
  ctx: Context,
  run: (rollouts: ModelRollouts) => Promise<RolloutRecord>,
): Promise<RolloutRecord> {
  const rollouts = ctx.serving?.rollouts;
  if (!rollouts) {
    throw codedError(
      ErrorCode.UNAVAILABLE,
      ctx.serving
        ? 'this server cannot switch models at run time'
        : 'no model is loaded: start the gateway with MODEL_DIR or MODEL_DIRS naming model directories',
    );
  }
  // The switch waits for the requests holding the engines it replaces: this one must not.
  ctx.serving?.lease.release();
  return run(rollouts); // refusals are CodedErrors, answered as they are
}

export const rolloutResolvers: Resolvers = {
  Query: {
    modelStatus: (_, __, { serving }) => {
      const registry = serving?.registry;
      const first = registry?.datasets[0];
      const models = first === undefined ? undefined : registry?.modelsOf(first);
      return {
        serving: served(models?.current),
        previous: served(models?.previous),
        datasets: (registry?.datasets ?? []).flatMap((d) => {
          const s = registry?.modelsOf(d);
          return s ? [datasetModels(d, s)] : [];
        }),
        rolloutInProgress: serving?.rollouts?.inProgress?.directory ?? null,
        rollouts: (serving?.rollouts?.history ?? []).map(rollout),
      };
    },
  },
  ServedModel: {
    // model_versions' record (the served models are a handful: one query per field is fine)
    gate: async ({ version }, _, { db }) => {
      const g = (await gatesOf(db, [version])).get(version);
      return g ? modelGate(g) : null;
    },
  },
  Mutation: {
    rolloutModel: (_, { directory, override }, ctx) =>
      switchModel(ctx, (r) => r.rollout(directory, override)).then(rollout),
    rollbackModel: (_, { dataset }, ctx) =>
      switchModel(ctx, (r) => r.rollback(dataset)).then(rollout),
  },
};
