// The HTTP front: Fastify with Apollo Server on /graphql, plus /healthz and /readyz.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Config } from './config.js';
import type { Context } from './context.js';
import type { Db, Queryable } from './db/client.js';
import type { Resolvers } from './generated/graphql.js';
import type { ForecastEngine } from './forecast/engine.js';
import { createForecastLoader } from './loaders/forecast.js';
import { registerDashboard } from './dashboard.js';
import { EXAMPLES_FILE, registerExplorer } from './explorer.js';
import { createLoaders, createSharedLookups } from './loaders/index.js';
import { engineCounters, type InferenceCounters } from './cluster.js';
import { renderMetrics } from './metrics.js';
import { forecastOutcomes, type OutcomeRow } from './db/outcomes.js';
import { TtlCache } from './ttl-cache.js';
import { TrendCache } from './evolution/trends.js';
import { resolvers as defaultResolvers } from './resolvers/index.js';

export const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema');

/** All SDL files of `dir` (schema/*.graphql), concatenated in name order. */
export function loadTypeDefs(dir = SCHEMA_DIR): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

export interface ServerDeps {
  config: Config;
  db: Db;
  resolvers?: Resolvers;
  /** Serves interestForecast (and /metrics, /debug/inference) when given. */
  engine?: ForecastEngine;
  /**
   * The counters /metrics and /debug/inference report: by default the engine's own; in a
   * cluster, all workers' (src/cluster.ts, clusterCounters).
   */
  counters?: () => Promise<InferenceCounters>;
  /** Adds per-request members to the context (e.g. the forecast loader, src/loaders/forecast*). */
  extendContext?: (base: Context) => Partial<Context>;
  /** Pino logger options; `false` silences request logging (tests). */
  logger?: boolean | { level: string };
}

/** Codes that describe the client's request and may be shown to it as they are. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'UNAVAILABLE',
]);

/**
 * `cache-control: no-store` on every GraphQL response, as Apollo's cache-control plugin sends
 * it for a schema without cache hints. That plugin itself is off: it hooks every resolved field
 * (and makes Apollo wrap every resolver) to compute a policy this schema never declares.
 */
const noStore: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, db, engine } = deps;
  const app = Fastify({ logger: deps.logger ?? { level: config.logLevel } });

  const apollo = new ApolloServer<Context>({
    typeDefs: loadTypeDefs(),
    resolvers: (deps.resolvers ?? defaultResolvers) as never,
    plugins: [fastifyApolloDrainPlugin(app), ApolloServerPluginCacheControlDisabled(), noStore],
    includeStacktraceInErrorResponses: false,
    introspection: config.introspection,
    formatError: (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
      const code = formatted.extensions?.code;
      const original = unwrapResolverError(error);
      // Duck-typed: graphql may be loaded twice (ESM and CJS builds), defeating instanceof.
      const isGraphQLError =
        original instanceof GraphQLError ||
        Object.prototype.toString.call(original) === '[object GraphQLError]';
      if (typeof code === 'string' && CLIENT_CODES.has(code) && isGraphQLError) return formatted;
      // Anything else is our fault: log it whole, tell the client only that it happened.
      app.log.error({ err: original, path: formatted.path }, 'internal error in GraphQL request');
      return {
        message: 'Internal server error',
        ...(formatted.path && { path: formatted.path }),
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      };
    },
  });
  await apollo.start();
  // Concurrent requests' lookups by id merge into shared statements (src/loaders/index.ts).
  const lookups = createSharedLookups(db);
  const trends = new TrendCache(db);

  // CORS for the listed storefront origins only: preflights answered, other origins get no
  // Access-Control-* headers (their browsers then refuse the response). Apollo's CSRF
  // prevention stays on: a cross-origin POST must be JSON (preflighted) or carry a header.
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    await app.register(cors, {
      origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'apollo-require-preflight', 'x-apollo-operation-name'],
      maxAge: 600,
    });
  }
  await app.register(fastifyApollo(apollo), {
    context: async (): Promise<Context> => {
      const base: Context = {
        config,
        db,
        loaders: createLoaders(db, lookups),
        trends,
        ...(engine && {
          forecasts: createForecastLoader(engine),
          excludeSeenDefault: engine.model.manifest.scorer?.excludeHistory ?? false,
          embedItems: (q: Queryable, ids: readonly string[]) => engine.embedItems(q, ids),
        }),
      };
      return deps.extendContext ? { ...base, ...deps.extendContext(base) } : base;
    },
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  registerExplorer(app, EXAMPLES_FILE);
  await registerDashboard(
    app,
    engine
      ? {
          dataset: engine.model.manifest.dataset,
          version: engine.model.version,
          metricsFile: path.join(path.dirname(config.modelDir), 'metrics.json'),
        }
      : null,
  );
  if (engine) {
    const counters = deps.counters ?? (() => Promise.resolve(engineCounters(engine)));
    // A cluster worker collects every worker's counters; when one does not answer, the
    // endpoints say so (503) rather than report part of the cluster as the whole.
    const collected = async (reply: FastifyReply): Promise<InferenceCounters | null> => {
      try {
        return await counters();
      } catch (err) {
        reply.code(503).send({ error: (err as Error).message });
        return null;
      }
    };
    // Impressions and feedback come from the stored forecasts and events (right for every
    // worker of a cluster), recomputed at most every 15 s however often /metrics is scraped.
    const outcomes = new TtlCache<OutcomeRow[]>(15_000, 1);
    app.get('/metrics', async (_req, reply) => {
      const c = await collected(reply);
      if (!c) return reply;
      const served = await outcomes.get('all', () => forecastOutcomes(db, null, null));
      return reply.type('text/plain; version=0.0.4').send(
        renderMetrics(
          c,
          {
            modelVersion: engine.model.version,
            provider: engine.model.provider,
            storage: db.kind,
          },
          served,
        ),
      );
    });
    // Raw counters (exact batch-size distribution) for benchmarks and debugging.
    app.get('/debug/inference', async (_req, reply) => (await collected(reply)) ?? reply);
  }
  app.get('/readyz', async (_req, reply) => {
    try {
      await db.query('SELECT 1');
      return { status: 'ready', storage: db.kind };
    } catch (err) {
      app.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', storage: db.kind });
    }
  });
  return app;
}
