// A gateway serving forecasts with the shipped model over a real database holding a slice of
// Beauty (with its titles and attribute names on request): import → item embeddings written
// from the model → engine → HTTP server.
import type { Db } from '../../src/db/client.js';
import { ForecastEngine, type EngineOptions } from '../../src/forecast/engine.js';
import type { ForecastRequest } from '../../src/forecast/forecast.js';
import { importAmazon } from '../../src/import/amazon.js';
import { Model } from '../../src/inference/model.js';
import { IntentModel } from '../../src/intent/model.js';
import { syncItemEmbeddings } from '../../src/serving/embeddings.js';
import type { EmbeddingSlot } from '../../src/db/embedding-slots.js';
import type { Backend } from './backends.js';
import { BEAUTY_NAMES, BEAUTY_TEXT, beautySlice } from './fixtures.js';
import { startServer, type TestServer } from './server.js';
import { retrievalSettings } from '../../src/db/retrieval.js';

// TEST_MODEL_DIR: serve another Beauty model directory (e.g. a candidate before it is shipped).
export const MODEL_DIR = process.env.TEST_MODEL_DIR ?? 'models/beauty';
export const INTENT_MODEL_DIR = 'models/intent';
const RETRIEVAL = { candidates: 100, efSearch: 100, successors: 100 };

export interface ForecastFixture {
  db: Db;
  model: Model;
  engine: ForecastEngine;
  intent: IntentModel;
  server: TestServer;
  lines: string[];
  /**
   * Another engine configured as `engine` (same options and intent model), e.g. for a rollout;
   * reading embedding slot `slot` (default a, where `engine`'s vectors are).
   */
  createEngine(model: Model, slot?: EmbeddingSlot): ForecastEngine;
  close(): Promise<void>;
}

export async function openForecastFixture(
  backend: Backend,
  opts: {
    users?: number;
    batching?: Partial<EngineOptions['batching']>;
    /** Configuration of the server (startServer's `env`). */
    env?: Record<string, string>;
    /** Import Beauty's titles, brands and category names too (default: the anonymous ids). */
    names?: boolean;
  } = {},
): Promise<ForecastFixture> {
  // As src/main.ts opens it: candidate queries' settings on every connection.
  const { db, dispose } = await backend.open(retrievalSettings(RETRIEVAL.efSearch));
  const slice = await beautySlice(opts.users ?? 120);
  await importAmazon(db, {
    sequences: [slice.sequences],
    attributes: [slice.attributes],
    ...(opts.names && { itemTexts: [BEAUTY_TEXT], attributeNames: [BEAUTY_NAMES] }),
  });
  const model = await Model.load(MODEL_DIR, 'cpu');
  const intent = await IntentModel.load(INTENT_MODEL_DIR, 'cpu');
  await syncItemEmbeddings(db, model);
  const createEngine = (m: Model, slot: EmbeddingSlot = 'a') =>
    new ForecastEngine(db, m, {
      batching: { maxBatch: 64, maxDelayMs: 2, maxQueue: 1024, ...opts.batching },
      retrieval: RETRIEVAL,
      intent,
      embeddingSlot: slot,
    });
  const engine = createEngine(model);
  const server = await startServer(db, opts.env ?? {}, { engine });
  return {
    db,
    model,
    engine,
    intent,
    server,
    lines: slice.lines,
    createEngine,
    async close() {
      await server.close();
      await engine.close();
      await model.release();
      await intent.release();
      await dispose();
    },
  };
}

/** A model forecast of `first` items for a user, with the API's default filters (the bundled
 * model's `excludeSeen`), as the engine takes it. */
export function userForecastRequest(userId: string, first = 10): ForecastRequest {
  return {
    subject: { kind: 'user', userId },
    first,
    filter: {
      categoryIds: null,
      minPrice: null,
      maxPrice: null,
      inStockOnly: true,
      excludePurchased: true,
      excludeSeen: true,
    },
    explain: false,
    mode: 'MODEL',
    context: null,
  };
}
