// Configuration: read once at start-up from the environment into one validated, typed object
// that is passed down. Nothing below src/main.ts reads process.env.
import path from 'node:path';
import { z } from 'zod';
import type { RetentionConfig } from './forecast/retention.js';

/**
 * The largest catalogue retrieved by an exact scan by default (RETRIEVAL_EXACT_MAX_ITEMS): about
 * where the scan and the index statement cost the same (bench/retrieval-scale.ts).
 */
export const DEFAULT_EXACT_MAX_ITEMS = 200_000;

const intFrom = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

/** A comma-separated list, entries trimmed, empty ones dropped; unset = empty. */
const commaList = () =>
  z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== ''),
    );

const schema = z.object({
  PORT: intFrom(4000, 0, 65535),
  GATEWAY_WORKERS: intFrom(1, 1, 64),
  HOST: z.string().default('127.0.0.1'),
  // Empty counts as unset (`DATABASE_URL= npm start` → embedded PGlite).
  DATABASE_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  // A streaming replica of DATABASE_URL for forecasts' reads (src/db/read-routing.ts).
  READ_DATABASE_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  READ_REPLICA_MAX_LAG_MS: intFrom(2000, 0, 3_600_000),
  DATA_DIR: z.string().default('.data/pglite'),
  // Storefront origins allowed to call /graphql from a browser (CORS), comma-separated exact
  // origins such as https://shop.example; empty = same origin only.
  CORS_ORIGINS: commaList().refine((origins) => origins.every(isOrigin), {
    message:
      'must list exact origins (scheme://host[:port], no path, no wildcard), comma-separated',
  }),
  // API keys (docs/security.md): auto = open on a loopback HOST until a key exists, keys
  // required otherwise; required = always; off = never (loopback HOST only).
  AUTH: z.enum(['auto', 'required', 'off']).default('auto'),
  API_KEY_CACHE_MS: intFrom(5000, 0, 600_000),
  // Requests per minute per key (token bucket of RATE_LIMIT_BURST); 0 = no limit.
  RATE_LIMIT: intFrom(6000, 0, 10_000_000),
  RATE_LIMIT_BURST: intFrom(200, 1, 1_000_000),
  // Where rate-limit and failed-authentication buckets live: memory = per process (one
  // gateway process), database = shared by every process and instance on the database.
  RATE_LIMIT_STORE: z.enum(['memory', 'database']).default('memory'),
  MAX_QUERY_DEPTH: intFrom(15, 1, 1000),
  MAX_QUERY_COST: intFrom(50_000, 1, 100_000_000),
  MAX_ALIASES: intFrom(30, 0, 10_000),
  // Operations per batched HTTP request (a JSON array); 1 = batching off.
  MAX_BATCH: intFrom(10, 1, 1000),
  BODY_LIMIT: intFrom(1_048_576, 1024, 100 * 1_048_576),
  // Comma-separated .graphql files or directories: keys without `admin` may run only these.
  OPERATION_ALLOW_LIST: commaList(),
  MODEL_DIR: z.string().default('models/beauty'),
  // One model directory per dataset, comma-separated; unset or empty = MODEL_DIR alone.
  MODEL_DIRS: commaList(),
  // The purchase-intent model; a directory without intent.json = none (probabilities null).
  INTENT_MODEL_DIR: z.string().default('models/intent'),
  EMBEDDING_DIM: intFrom(64, 1, 16_000),
  AUTO_IMPORT: z.enum(['true', 'false']).default('true'),
  SAMPLE_SEQUENCES: z.string().default('data/amazon/Beauty.txt'),
  SAMPLE_ATTRIBUTES: z.string().default('data/amazon/Beauty_item2attributes.json'),
  MAX_PAGE_SIZE: intFrom(100, 1, 10_000),
  MAX_EVENT_BATCH: intFrom(1000, 1, 100_000),
  // Items per upsertItems call and categories per upsertCategories call.
  MAX_CATALOG_BATCH: intFrom(500, 1, 10_000),
  SHUTDOWN_TIMEOUT_MS: intFrom(10_000, 0, 600_000),
  // Served forecasts are kept this many days (the attribution window for feedback), then
  // rolled up per day and deleted (src/forecast/retention.ts); 0 = keep them all.
  FORECAST_RETENTION_DAYS: intFrom(30, 0, 3650),
  FORECAST_PRUNE_INTERVAL_S: intFrom(3600, 10, 86_400),
  INFERENCE_MAX_BATCH: intFrom(64, 1, 4096),
  INFERENCE_MAX_DELAY_MS: z.coerce.number().min(0).max(1000).default(0),
  INFERENCE_MAX_QUEUE: intFrom(2048, 1, 1_000_000),
  INFERENCE_MAX_IN_FLIGHT: intFrom(4, 1, 64),
  INFERENCE_SPREAD: z.enum(['true', 'false']).default('false'),
  INFERENCE_PROVIDER: z.enum(['auto', 'cuda', 'cpu']).default('auto'),
  INFERENCE_THREADS: intFrom(1, 0, 256),
  INFERENCE_WORKER: z.enum(['true', 'false']).default('false'),
  RETRIEVAL_CANDIDATES: intFrom(50, 1, 5000),
  RETRIEVAL_EF_SEARCH: intFrom(64, 1, 1000),
  // the largest catalogue scanned exactly in the gateway (src/retrieval/exact.ts)
  RETRIEVAL_EXACT_MAX_ITEMS: intFrom(DEFAULT_EXACT_MAX_ITEMS, 0, 10_000_000),
  RETRIEVAL_SUCCESSORS: intFrom(100, 0, 1000),
  // Unset or empty = every stored neighbour (at most the model's scorer.cooccurrence.neighbors).
  RETRIEVAL_COOCCURRENCE_NEIGHBORS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).max(10_000).optional(),
  ),
  // Unset: 2 with one gateway process, 1 with several (their batches already run side by side).
  RETRIEVAL_PARALLEL: z.coerce.number().int().min(1).max(16).optional(),
  FORECAST_MODE: z.enum(['model', 'popularity']).default('model'),
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).default('true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // The dataset a shop's own ids belong to in the supergraph (docs/federation.md): Product
  // "sku-1" is Foresight's item "<dataset>:sku-1", Customer "c-9" its user "<dataset>:c-9".
  FEDERATION_DATASET: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be a dataset name (letters, digits, _ or -)')
      .optional(),
  ),
});

export interface Config {
  /** How long served forecasts are kept (FORECAST_RETENTION_DAYS, FORECAST_PRUNE_INTERVAL_S). */
  forecastRetention: RetentionConfig;
  port: number;
  /** Gateway processes sharing the port (src/cluster.ts); above 1 only with PostgreSQL. */
  workers: number;
  host: string;
  /** Real PostgreSQL when set; embedded PGlite in `dataDir` otherwise. */
  databaseUrl: string | undefined;
  /** A streaming replica of `databaseUrl` that forecasts read from when it is caught up. */
  readReplica: { url: string; maxLagMs: number } | null;
  dataDir: string;
  /** Browser origins allowed by CORS; empty = none beyond the gateway's own. */
  corsOrigins: string[];
  security: SecurityConfig;
  /**
   * The model directories, absolute, one per dataset (MODEL_DIRS, else MODEL_DIR alone); the
   * first dataset's engine also serves the fallbacks of datasets without a model.
   */
  modelDirs: string[];
  /** The first of `modelDirs`. */
  modelDir: string;
  intentModelDir: string;
  /** Dimension of items.embedding: the model's `dim` (models/<name>/model.json). */
  embeddingDim: number;
  /** Import the bundled sample into an empty database at start-up. */
  autoImport: boolean;
  sample: { sequences: string; attributes: string };
  maxPageSize: number;
  maxEventBatch: number;
  maxCatalogBatch: number;
  inference: {
    maxBatch: number;
    maxDelayMs: number;
    maxQueue: number;
    /** Merged batches allowed to run at once (one can wait on SQL while another runs ONNX). */
    maxInFlight: number;
    /** Spread waiting forecasts over free batch slots instead of packing one batch. */
    spread: boolean;
    provider: 'auto' | 'cuda' | 'cpu';
    /** ONNX Runtime intra-op threads per session; 0 = ONNX Runtime's default (one per core). */
    threads: number;
    /** Run the ONNX sessions on a worker thread, off the event loop. */
    worker: boolean;
  };
  retrieval: {
    candidates: number;
    efSearch: number;
    successors: number;
    /**
     * Stored co-occurrence neighbours retrieved per recent item the scorer's co-occurrence term
     * reads; null = all of them (what keeps the served top exact).
     */
    cooccurrenceNeighbors: number | null;
    /** Statements (pooled connections) a batch's candidate query is split over. */
    parallel: number;
    /**
     * The largest catalogue (items with a vector in the model's slot) retrieved by an exact scan
     * in the gateway instead of the HNSW index (src/retrieval/exact.ts); 0 = always the index.
     */
    exactMaxItems: number;
  };
  forecastMode: 'model' | 'popularity';
  /** Schema introspection on /graphql (explicit: Apollo's default depends on NODE_ENV). */
  introspection: boolean;
  logLevel: string;
  /** The dataset of the shop's Product and Customer ids in a supergraph; null = not mapped. */
  federationDataset: string | null;
  /** Longest a SIGTERM/SIGINT shutdown may take (drain requests, close model and database). */
  shutdownTimeoutMs: number;
}

export interface SecurityConfig {
  auth: 'auto' | 'required' | 'off';
  /** How long a key lookup (and so a revocation elsewhere) is cached, per process. */
  keyCacheMs: number;
  /** Requests per minute per key unless the key sets its own; 0 = none. */
  rateLimit: number;
  rateLimitBurst: number;
  /** Where the buckets of rate limits and failed authentications are kept. */
  rateLimitStore: 'memory' | 'database';
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxBatch: number;
  bodyLimit: number;
  /** Absolute paths of the allowed operations' files or directories; empty = any operation. */
  allowList: string[];
}

export class ConfigError extends Error {}

/** A HOST that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `https://shop.example` or `http://localhost:3000`: what a browser sends as Origin. */
function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === s;
  } catch {
    return false;
  }
}

/** Parses and validates configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.GATEWAY_WORKERS > 1 && e.DATABASE_URL === undefined) {
    throw new ConfigError(
      `invalid configuration:\n  GATEWAY_WORKERS: ${e.GATEWAY_WORKERS} processes need DATABASE_URL ` +
        '(PostgreSQL): the embedded PGlite database belongs to one process; set GATEWAY_WORKERS=1 ' +
        'or DATABASE_URL',
    );
  }
  if (e.READ_DATABASE_URL !== undefined && e.DATABASE_URL === undefined) {
    throw new ConfigError(
      'invalid configuration:\n  READ_DATABASE_URL: a read replica needs DATABASE_URL (its primary)',
    );
  }
  if (e.AUTH === 'off' && !isLoopbackHost(e.HOST)) {
    throw new ConfigError(
      `invalid configuration:\n  AUTH: off is only allowed with a loopback HOST (got ${e.HOST}); ` +
        'create an API key (npm run keys -- create) or bind HOST=127.0.0.1 behind a proxy',
    );
  }
  const abs = (p: string) => path.resolve(cwd, p);
  if (e.MODEL_DIRS.length > 0 && env.MODEL_DIR !== undefined && env.MODEL_DIR !== '') {
    throw new ConfigError(
      'invalid configuration:\n  MODEL_DIR, MODEL_DIRS: set one of them (MODEL_DIR is the ' +
        'one-model shorthand of MODEL_DIRS)',
    );
  }
  const modelDirs = (e.MODEL_DIRS.length > 0 ? e.MODEL_DIRS : [e.MODEL_DIR]).map(abs);
  const repeated = modelDirs.find((d, i) => modelDirs.indexOf(d) !== i);
  if (repeated !== undefined) {
    throw new ConfigError(
      `invalid configuration:\n  MODEL_DIRS: ${repeated} is listed twice (one directory per dataset)`,
    );
  }
  return {
    port: e.PORT,
    workers: e.GATEWAY_WORKERS,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    readReplica:
      e.READ_DATABASE_URL === undefined
        ? null
        : { url: e.READ_DATABASE_URL, maxLagMs: e.READ_REPLICA_MAX_LAG_MS },
    dataDir: abs(e.DATA_DIR),
    corsOrigins: e.CORS_ORIGINS,
    security: {
      auth: e.AUTH,
      keyCacheMs: e.API_KEY_CACHE_MS,
      rateLimit: e.RATE_LIMIT,
      rateLimitBurst: e.RATE_LIMIT_BURST,
      rateLimitStore: e.RATE_LIMIT_STORE,
      maxDepth: e.MAX_QUERY_DEPTH,
      maxCost: e.MAX_QUERY_COST,
      maxAliases: e.MAX_ALIASES,
      maxBatch: e.MAX_BATCH,
      bodyLimit: e.BODY_LIMIT,
      allowList: e.OPERATION_ALLOW_LIST.map(abs),
    },
    modelDirs,
    modelDir: modelDirs[0] as string,
    intentModelDir: abs(e.INTENT_MODEL_DIR),
    embeddingDim: e.EMBEDDING_DIM,
    autoImport: e.AUTO_IMPORT === 'true',
    sample: { sequences: abs(e.SAMPLE_SEQUENCES), attributes: abs(e.SAMPLE_ATTRIBUTES) },
    maxPageSize: e.MAX_PAGE_SIZE,
    maxEventBatch: e.MAX_EVENT_BATCH,
    maxCatalogBatch: e.MAX_CATALOG_BATCH,
    inference: {
      maxBatch: e.INFERENCE_MAX_BATCH,
      maxDelayMs: e.INFERENCE_MAX_DELAY_MS,
      maxQueue: e.INFERENCE_MAX_QUEUE,
      maxInFlight: e.INFERENCE_MAX_IN_FLIGHT,
      spread: e.INFERENCE_SPREAD === 'true',
      provider: e.INFERENCE_PROVIDER,
      threads: e.INFERENCE_THREADS,
      worker: e.INFERENCE_WORKER === 'true',
    },
    retrieval: {
      candidates: e.RETRIEVAL_CANDIDATES,
      efSearch: e.RETRIEVAL_EF_SEARCH,
      successors: e.RETRIEVAL_SUCCESSORS,
      cooccurrenceNeighbors: e.RETRIEVAL_COOCCURRENCE_NEIGHBORS ?? null,
      parallel: e.RETRIEVAL_PARALLEL ?? (e.GATEWAY_WORKERS > 1 ? 1 : 2),
      exactMaxItems: e.RETRIEVAL_EXACT_MAX_ITEMS,
    },
    forecastMode: e.FORECAST_MODE,
    introspection: e.GRAPHQL_INTROSPECTION === 'true',
    logLevel: e.LOG_LEVEL,
    federationDataset: e.FEDERATION_DATASET ?? null,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    forecastRetention: { days: e.FORECAST_RETENTION_DAYS, intervalS: e.FORECAST_PRUNE_INTERVAL_S },
  };
}
