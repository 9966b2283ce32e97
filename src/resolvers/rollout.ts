// modelStatus, rolloutModel and rollbackModel (schema/rollout.graphql) over the process's
// engine slot and rollout controller (src/rollout/).
import type { Context } from '../context.js';
import type { Resolvers, ServedModel } from '../generated/graphql.js';
import { RolloutError, type ModelRollouts, type RolloutRecord } from '../rollout/rollouts.js';
import type { ServingModel } from '../rollout/slot.js';
import { codedError, ErrorCode } from './errors.js';

function served(s: ServingModel | null): ServedModel | null {
  if (!s) return null;
  const model = s.engine.model;
  return {
    version: model.version,
    dataset: model.manifest.dataset,
    dim: model.manifest.dim,
    directory: s.directory,
    provider: model.provider,
    loadedAt: s.loadedAt,
  };
}

/** Runs a switch for this request, answering a refusal with its code. */
async function switchModel(
  ctx: Context,
  run: (rollouts: ModelRollouts) => Promise<RolloutRecord>,
): Promise<RolloutRecord> {
  const rollouts = ctx.models?.rollouts;
  if (!rollouts) {
    throw codedError(
      ErrorCode.UNAVAILABLE,
      ctx.models
        ? 'this server cannot switch models at run time'
        : 'no model is loaded: start the gateway with MODEL_DIR naming a model directory',
      { retryable: false },
    );
  }
  // The switch waits for every request holding the serving engine: this one must not.
  ctx.models?.lease.release();
  try {
    return await run(rollouts);
  } catch (err) {
    if (err instanceof RolloutError) {
      throw codedError(ErrorCode[err.code], err.message, err.extensions);
    }
    throw err;
  }
}

export const rolloutResolvers: Resolvers = {
  Query: {
    modelStatus: (_, __, { models }) => ({
      serving: served(models?.slot.current ?? null),
      previous: served(models?.slot.previous ?? null),
      rolloutInProgress: models?.rollouts?.inProgress?.directory ?? null,
      rollouts: [...(models?.rollouts?.history ?? [])],
    }),
  },
  Mutation: {
    rolloutModel: (_, { directory }, ctx) => switchModel(ctx, (r) => r.rollout(directory)),
    rollbackModel: (_, __, ctx) => switchModel(ctx, (r) => r.rollback()),
  },
};
