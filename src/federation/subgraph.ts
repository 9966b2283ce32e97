// Foresight's schema as an Apollo Federation 2 subgraph (docs/federation.md): the standalone
// schema (schema/*.graphql) plus schema/federation/subgraph.graphql — `@key` on items, users,
// sessions and categories, resolved in batches through the request's DataLoaders, and the
// shop's own Product and Customer entities gaining forecast fields by key. The standalone
// graph keeps every field; a subgraph only adds `_service` and `_entities`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import type { Context } from '../context.js';
import { badUserInput, codedError, ErrorCode } from '../errors.js';
import type { Resolvers } from '../generated/graphql.js';
import { forecastOf, type ForecastArgs } from '../resolvers/forecast.js';

/** The federation part of the SDL, beside the standalone schema's files. */
export function federationTypeDefs(schemaDir: string): string {
  return readFileSync(path.join(schemaDir, 'federation', 'subgraph.graphql'), 'utf8');
}

/** A reference the router sends for an entity: its key. */
interface Reference {
  id: string;
}

/** Foresight's id of a shop's product or customer id (FEDERATION_DATASET namespaces it). */
function foresightId(ctx: Context, shopId: string, what: 'Product' | 'Customer'): string {
  const dataset = ctx.config.federationDataset;
  if (dataset === null) {
    throw codedError(
      ErrorCode.UNAVAILABLE,
      `${what} ids are not mapped to a Foresight dataset: start the gateway with FEDERATION_DATASET set (docs/federation.md)`,
    );
  }
  if (shopId.length === 0) throw badUserInput('id', `${what} id must not be empty`);
  return `${dataset}:${shopId}`;
}

/**
 * The entity resolvers: Foresight's own entities come from the request's row loaders (one
 * statement per type for all the references of a query); the shop's Product and Customer are
 * their keys, their forecasts batched through the forecast loader like any other.
 */
function entityResolvers(): Record<string, Record<string, unknown>> {
  return {
    Item: {
      __resolveReference: (ref: Reference, ctx: Context) => ctx.loaders.item.load(ref.id),
    },
    User: {
      __resolveReference: (ref: Reference, ctx: Context) => ctx.loaders.user.load(ref.id),
    },
    Session: {
      __resolveReference: (ref: Reference, ctx: Context) => ctx.loaders.session.load(ref.id),
    },
    Category: {
      __resolveReference: (ref: Reference, ctx: Context) => ctx.loaders.category.load(ref.id),
    },
    Product: {
      __resolveReference: (ref: Reference) => ({ id: ref.id }),
      foresightItem: (p: Reference, _: unknown, ctx: Context) =>
        ctx.loaders.item.load(foresightId(ctx, p.id, 'Product')),
      recommendations: (p: Reference, args: ForecastArgs, ctx: Context, info: GraphQLResolveInfo) =>
        forecastOf(
          { kind: 'anonymous', events: [], pages: [] },
          { ...args, context: { itemId: foresightId(ctx, p.id, 'Product') } },
          ctx,
          info,
        ),
    },
    Customer: {
      __resolveReference: (ref: Reference) => ({ id: ref.id }),
      foresightUser: (c: Reference, _: unknown, ctx: Context) =>
        ctx.loaders.user.load(foresightId(ctx, c.id, 'Customer')),
      interestForecast: (
        c: Reference,
        args: ForecastArgs,
        ctx: Context,
        info: GraphQLResolveInfo,
      ) =>
        forecastOf({ kind: 'user', userId: foresightId(ctx, c.id, 'Customer') }, args, ctx, info),
    },
  };
}

/** The executable subgraph schema over `typeDefs` (the standalone SDL) and its resolvers. */
export function buildForesightSchema(
  typeDefs: string,
  schemaDir: string,
  resolvers: Resolvers,
): GraphQLSchema {
  const document = parse(`${typeDefs}\n${federationTypeDefs(schemaDir)}`);
  const merged: Record<string, unknown> = { ...(resolvers as Record<string, unknown>) };
  for (const [type, fields] of Object.entries(entityResolvers())) {
    merged[type] = { ...((merged[type] as Record<string, unknown> | undefined) ?? {}), ...fields };
  }
  return buildSubgraphSchema({ typeDefs: document, resolvers: merged as never });
}
