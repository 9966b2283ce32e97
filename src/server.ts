// The HTTP front: Fastify with Apollo Server on /graphql, plus /healthz and /readyz.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import {
  buildSchema,
  GraphQLError,
  lexicographicSortSchema,
  printSchema,
  type GraphQLFormattedError,
} from 'graphql';
import type { Config } from './config.js';
import type { Context } from './context.js';
import { isConnectionError, ping, type Db } from './db/client.js';
import type { Resolvers } from './generated/graphql.js';
import type { ForecastEngine } from './forecast/engine.js';
import { ModelRegistry } from './serving/registry.js';
import { createForecastLoader } from './loaders/forecast.js';
import { registerDashboard } from './dashboard.js';
import { EXAMPLES_FILE, registerExplorer } from './explorer.js';
import { createLoaders, createSharedLookups } from './loaders/index.js';
import { engineCounters, type InferenceCounters } from './metrics/counters.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics/prometheus.js';
import { forecastOutcomes, type OutcomeRow } from './db/outcomes.js';
import { TtlCache } from './ttl-cache.js';
import { TrendCache } from './evolution/trends.js';
import { buildForesightSchema } from './federation/subgraph.js';
import { resolvers as defaultResolvers } from './resolvers/index.js';
import {
  CLIENT_CODES,
  CodedError,
  ErrorCode,
  formatCoded,
  RETRY_AFTER_CONNECTION_LOST_MS,
  sendCodedError,
} from './errors.js';
import type { ModelRollouts } from './serving/rollouts.js';
import { installGuard } from './security/guard.js';
import { KnownOperationTypesRule } from './security/limits.js';
import { checkScopeMap } from './security/scopes.js';
import { installTransportErrors } from './security/transport.js';
import { log, silentLogger } from './log.js';
import type { Readiness } from './shutdown.js';
import type { ReadRouter } from './db/read-routing.js';

export const SCHEMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema');

/** All SDL files of `dir` (schema/*.graphql), concatenated in name order. */
export function loadTypeDefs(dir = SCHEMA_DIR): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

/** The committed schema (`npm run schema:snapshot`) that test/schema-snapshot.test.ts checks. */
export const SNAPSHOT = path.join(SCHEMA_DIR, 'snapshot', 'schema.graphql');

/** The schema of schema/*.graphql, printed in a stable order: the snapshot's text. */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(buildSchema(loadTypeDefs()))) + '\n';
}

export interface ServerDeps {
  config: Config;
  db: Db;
  resolvers?: Resolvers;
  /** Serves interestForecast (and /metrics, /debug/inference) when given: one fixed engine. */
  engine?: ForecastEngine;
  /**
   * The models instead, one per dataset, each switchable (src/serving/registry.ts); `rollouts`
   * switch them at run time.
   */
  registry?: ModelRegistry;
  rollouts?: ModelRollouts;
  /**
   * The counters /metrics and /debug/inference report: by default the engine's own; in a
   * cluster, all workers' (src/cluster.ts, clusterCounters).
   */
  counters?: () => Promise<InferenceCounters>;
  /** Read routing to a replica (READ_DATABASE_URL): recordEvents notes its shoppers. */
  reads?: ReadRouter;
  /** `false`: no request lines (tests); otherwise requests are logged with src/log.ts's logger. */
  logger?: false;
  /** Set to draining by gracefulShutdown (src/shutdown.ts): /readyz then answers 503. */
  readiness?: Readiness;
}

/** Most lexical tokens in a GraphQL document: the largest shipped operation has about 150. */
const MAX_TOKENS = 10_000;

const TOO_MANY_VARIABLE_ERRORS = 'Too many errors processing variables';
const NAME = '[_A-Za-z][_0-9A-Za-z]*';
/** `events[2].itemId`: an argument, its fields and list indexes. */
const PATH = `${NAME}(?:\\.${NAME}|\\[\\d+\\])*`;
const VARIABLE_ERROR = new RegExp(`^Variable "\\$(${NAME})" `);
const MESSAGE_FIELD = new RegExp(`^(${PATH}): `);

/**
 * The argument a BAD_USER_INPUT error is about (`extensions.field`), where the error does not
 * say: graphql-js's refusal of a variable names it and the path in it (`Variable "$input" got
 * invalid value … at "input.attributes"; …` → `input.attributes`); the gateway's own messages
 * start with it (`recentEvents[3].itemId: …`).
 */
function inputFieldOf(error: GraphQLFormattedError): string | undefined {
  const given = error.extensions?.field;
  if (typeof given === 'string') return given;
  const variable = VARIABLE_ERROR.exec(error.message)?.[1];
  if (variable !== undefined) {
    // The path starts with the variable's name; a quote inside the printed value is escaped.
    const at = new RegExp(` at "(${variable}(?:\\.${NAME}|\\[\\d+\\])*)"; `).exec(error.message);
    return at?.[1] ?? variable;
  }
  return MESSAGE_FIELD.exec(error.message)?.[1];
}

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
  const registry =
    deps.registry ??
    (engine && new ModelRegistry([{ engine, directory: config.modelDir, loadedAt: new Date() }]));
  const app = Fastify({
    // pino's Logger is Fastify's logger; typed as its base so that plugins' types line up.
    loggerInstance: (deps.logger === false ? silentLogger : log) as FastifyBaseLogger,
    bodyLimit: config.security.bodyLimit,
    // A URL Fastify cannot decode (malformed percent-encoding) gets a coded answer too.
    frameworkErrors: (_err, _req, reply) =>
      sendCodedError(
        reply,
        400,
        ErrorCode.BAD_REQUEST,
        'the URL is not valid (malformed percent-encoding)',
      ),
  });
  // While draining, every response closes its connection: app.close() closes the keep-alive
  // sockets that are idle when it starts, but one whose request was still running would
  // otherwise stay open (keepAliveTimeout, 72 s) and hold the shutdown up after it answers.
  const readiness = deps.readiness ?? { draining: false };
  app.addHook('onSend', async (_req, reply) => {
    if (readiness.draining) reply.header('connection', 'close');
  });
  installTransportErrors(app, config.security.bodyLimit);
  const guard = installGuard(app, config, db);
  const typeDefs = loadTypeDefs();
  checkScopeMap(buildSchema(typeDefs));

  const apollo = new ApolloServer<Context>({
    // The standalone schema as a Federation 2 subgraph (src/federation/subgraph.ts): the same
    // fields, plus the entities a shop's supergraph resolves by key.
    schema: buildForesightSchema(typeDefs, SCHEMA_DIR, deps.resolvers ?? defaultResolvers),
    plugins: [
      fastifyApolloDrainPlugin(app),
      ApolloServerPluginCacheControlDisabled(),
      noStore,
      guard.plugin,
    ],
    allowBatchedHttpRequests: config.security.maxBatch > 1,
    // Apollo's own lines (e.g. the subgraph's inline-trace notice) through the one logger.
    logger: deps.logger === false ? silentLogger : log,
    includeStacktraceInErrorResponses: false,
    // src/main.ts owns SIGINT/SIGTERM (gracefulShutdown); Apollo's own handlers would close the
    // server beside it and then re-raise the signal, killing the process mid-shutdown.
    stopOnTerminationSignals: false,
    introspection: config.introspection,
    validationRules: [KnownOperationTypesRule],
    // Refused while parsing, before a deep or huge document costs a recursion per level.
    parseOptions: { maxTokens: MAX_TOKENS },
    formatError: (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
      const code = formatted.extensions?.code;
      const original = unwrapResolverError(error);
      // A refusal from any layer below (engine, serving, database, security): as it is.
      if (original instanceof CodedError && CLIENT_CODES.has(original.code)) {
        const { message, extensions } = formatCoded(original);
        const field =
          original.code === ErrorCode.BAD_USER_INPUT && extensions.field === undefined
            ? inputFieldOf({ message })
            : undefined;
        return { ...formatted, message, extensions: field ? { ...extensions, field } : extensions };
      }
      // Duck-typed: graphql may be loaded twice (ESM and CJS builds), defeating instanceof.
      const isGraphQLError =
        original instanceof GraphQLError ||
        Object.prototype.toString.call(original) === '[object GraphQLError]';
      if (typeof code === 'string' && CLIENT_CODES.has(code) && isGraphQLError) {
        const field = code === ErrorCode.BAD_USER_INPUT ? inputFieldOf(formatted) : undefined;
        return field ? { ...formatted, extensions: { ...formatted.extensions, field } } : formatted;
      }
      // Not our fault either: PostgreSQL went away (restart, failover, terminated backend).
      // Every mutation is idempotent (recordEvents by clientEventId), so a retry is safe.
      if (isConnectionError(original)) {
        app.log.warn({ err: original, path: formatted.path }, 'database connection lost');
        return {
          message: 'The database connection was lost; the request may be retried.',
          ...(formatted.path && { path: formatted.path }),
          extensions: {
            code: ErrorCode.UNAVAILABLE,
            retryAfterMs: RETRY_AFTER_CONNECTION_LOST_MS,
          },
        };
      }
      // graphql-js stops reading variables after 50 errors and says so in an error of no code.
      if (isGraphQLError && formatted.message.startsWith(TOO_MANY_VARIABLE_ERRORS)) {
        return {
          message: formatted.message,
          extensions: { code: ErrorCode.BAD_USER_INPUT, field: 'variables' },
        };
      }
      // Apollo's own refusals without a code (a persisted query's hash that does not match its
      // text, an unsupported version) carry a 4xx status: the client's request is at fault.
      const status = (original as GraphQLError | undefined)?.extensions?.http as
        { status?: number } | undefined;
      if (isGraphQLError && status?.status && status.status >= 400 && status.status < 500) {
        return { message: formatted.message, extensions: { code: ErrorCode.BAD_REQUEST } };
      }
      // Anything else is our fault: log it whole, tell the client only that it happened.
      app.log.error({ err: original, path: formatted.path }, 'internal error in GraphQL request');
      return {
        message: 'Internal server error',
        ...(formatted.path && { path: formatted.path }),
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
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
    context: async (request, reply): Promise<Context> => {
      // The engines serving when the request starts serve all of it (src/serving/leases.ts).
      const lease = registry?.acquireFor(reply.raw);
      return {
        config,
        db,
        ...(deps.reads && { reads: deps.reads }),
        keys: guard.keys,
        ...(request.principal && { principal: request.principal }),
        ...(request.batchGate && { batch: request.batchGate }),
        loaders: createLoaders(db, lookups),
        trends,
        ...(registry &&
          lease && {
            serving: {
              registry,
              lease,
              forecasts: createForecastLoader(lease),
              ...(deps.rollouts && { rollouts: deps.rollouts }),
            },
          }),
      };
    },
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  registerExplorer(app, EXAMPLES_FILE);
  // The dashboard's model view: the dataset asked for, else the first served.
  await registerDashboard(app, (dataset) => {
    const name = dataset ?? registry?.datasets[0];
    const serving = name === undefined ? undefined : registry?.modelsOf(name)?.current;
    if (!serving) return null;
    return {
      manifest: serving.engine.model.manifest,
      version: serving.engine.model.version,
      metricsFile: path.join(path.dirname(serving.directory), 'metrics.json'),
    };
  });
  if (registry) {
    const serving = () => registry.serving().map((s) => s.engine);
    const reads = deps.reads;
    const counters =
      deps.counters ??
      (() =>
        Promise.resolve({
          ...engineCounters(...serving()),
          ...(reads && { reads: reads.counters() }),
        }));
    // A cluster worker collects every worker's counters; when one does not answer, the
    // endpoints say so (503) rather than report part of the cluster as the whole.
    const collected = async (reply: FastifyReply): Promise<InferenceCounters | null> => {
      try {
        return await counters();
      } catch (err) {
        sendCodedError(reply, 503, ErrorCode.UNAVAILABLE, (err as Error).message, {
          retryAfterMs: 1000,
        });
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
      const models = serving().map(({ model }) => ({
        dataset: model.manifest.dataset,
        modelVersion: model.version,
        provider: model.provider,
      }));
      return reply
        .type(METRICS_CONTENT_TYPE)
        .send(await renderMetrics(c, { models, storage: db.kind }, served));
    });
    // Raw counters (exact batch-size distribution) for benchmarks and debugging.
    app.get('/debug/inference', async (_req, reply) => (await collected(reply)) ?? reply);
  }
  app.get('/readyz', async (_req, reply) => {
    if (readiness.draining) return reply.code(503).send({ status: 'draining', storage: db.kind });
    try {
      await ping(db);
      return { status: 'ready', storage: db.kind };
    } catch (err) {
      app.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', storage: db.kind });
    }
  });
  return app;
}
