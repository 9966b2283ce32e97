// Keeps a model's embedding slot (items.embedding or items.embedding_b, db/embedding-slots.ts) in
// step with the model: items the model was trained on get their learned embedding, every other
// item of the model's catalogue gets the content tower's embedding (cold start), and the model
// version is recorded per item and in model_versions.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Queryable } from '../db/client.js';
import type { ContentInput, SequenceModel } from '../inference/model.js';
import { recordedManifest } from '../inference/manifest.js';
import { type EmbeddingSlot } from '../db/embedding-slots.js';
import { toVectorLiteral } from '../db/retrieval.js';
import {
  itemContentRows,
  writeEmbeddingRows,
  staleEmbeddingIds,
  embeddedPerSlot,
  embeddingColumnDims,
  deferMaintenance,
  takeMaintenance,
  vacuumItemsTable,
} from '../db/embeddings.js';
import { recordModelVersion, markEmbedded } from '../db/model-versions.js';

/** Rows per UPDATE statement. */
const WRITE_CHUNK = 500;

/** Content of items, as the content tower takes it, and when it was last changed. */
async function loadItemContent(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, { input: ContentInput; updatedAt: string }>> {
  const rows = await itemContentRows(db, ids);
  return new Map(
    rows.map((r) => [
      r.id,
      {
        input: {
          attributeIds: r.category_ids,
          text: [r.title, r.description].filter(Boolean).join(' ') || null,
          price: r.price === null ? null : Number(r.price),
        },
        updatedAt: r.updated_at,
      },
    ]),
  );
}

/**
 * Computes and stores embeddings for the given items in `slot` (learned when known, else
 * content), `chunk` rows per statement. A content embedding is stored only if the item was not
 * changed after its content was read (a rollout writes outside any transaction while
 * upsertItem may change the item: it stays stale and the next pass embeds its new content).
 * Counts what was stored.
 */
export async function writeItemEmbeddings(
  db: Queryable,
  model: SequenceModel,
  ids: readonly string[],
  slot: EmbeddingSlot = 'a',
  chunk = WRITE_CHUNK,
): Promise<{ learned: number; content: number }> {
  let learned = 0;
  let content = 0;
  for (let start = 0; start < ids.length; start += chunk) {
    // PGlite runs each statement on this thread and resolves it in a microtask: without a turn
    // of the event loop between chunks, the next chunk would start before any other callback
    // (an ONNX result, a socket) ran, and forecasts would stall until the whole write is done.
    if (start > 0) await nextTurn();
    const part = ids.slice(start, start + chunk);
    const vectors: string[] = [];
    const sources: ('model' | 'content')[] = [];
    const readAt: (string | null)[] = [];
    const cold = part.filter((id): boolean => !model.knows(id));
    const coldContent = cold.length > 0 ? await loadItemContent(db, cold) : new Map();
    const coldInputs = cold.map(
      (id) => coldContent.get(id)?.input ?? { attributeIds: [], text: null, price: null },
    );
    const coldVectors = cold.length > 0 ? await model.embedContent(coldInputs) : [];
    const coldById = new Map(cold.map((id, k) => [id, coldVectors[k] as Float32Array]));
    for (const id of part) {
      const v = model.knownItem(id)?.embedding;
      if (v) {
        vectors.push(toVectorLiteral(v));
        sources.push('model');
        readAt.push(null);
      } else {
        vectors.push(toVectorLiteral(coldById.get(id) as Float32Array));
        sources.push('content');
        // An item deleted since its id was listed has no content: nothing to update.
        readAt.push(coldContent.get(id)?.updatedAt ?? null);
      }
    }
    const written = await writeEmbeddingRows(db, slot, model.version, {
      ids: part,
      vectors,
      sources,
      readAt,
    });
    for (const source of written) {
      if (source === 'model') learned++;
      else content++;
    }
  }
  return { learned, content };
}

/**
 * The embedding columns whose dimension is not `dim`, with theirs: both slots' columns were
 * created with EMBEDDING_DIM (migrations 001 and 016), and any model may be written to either.
 */
export async function mismatchedEmbeddingColumns(
  db: Queryable,
  dim: number,
): Promise<{ column: string; dim: number | null }[]> {
  return (await embeddingColumnDims(db)).filter((c) => c.dim !== dim);
}

/**
 * The slot that already holds `model`'s vectors for its dataset (the one with more of its
 * dataset's items embedded by this version), else `fallback`: a restart with the model of a
 * rollout finds its vectors where the rollout wrote them instead of rewriting every item.
 */
export async function slotHolding(
  db: Queryable,
  model: SequenceModel,
  fallback: EmbeddingSlot = 'a',
): Promise<EmbeddingSlot> {
  const held = await embeddedPerSlot(db, model.manifest.dataset, model.version);
  if (held.a === 0 && held.b === 0) return fallback;
  return held.b > held.a ? 'b' : 'a';
}

/** Records the model in model_versions (once per version), as every forecast names it. */
export async function recordModel(db: Queryable, model: SequenceModel): Promise<void> {
  const m = model.manifest;
  await recordModelVersion(db, {
    version: m.version,
    dataset: m.dataset,
    dim: m.dim,
    manifest: recordedManifest(m),
  });
}

export interface WriteOptions {
  /** The slot to write (default a). */
  slot?: EmbeddingSlot;
  /** Rows per UPDATE statement (default 500): smaller statements hold PGlite's one
   * connection for less time, so forecasts interleave with a rollout's write. */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Writes the model's embedding, in `slot`, for every item of its dataset whose vector there is
 * another version's (or none); inside `db`'s transaction when `db` is one, else one statement
 * per chunk, each committed on its own.
 */
export async function writeStaleEmbeddings(
  db: Queryable,
  model: SequenceModel,
  options: WriteOptions = {},
): Promise<{ learned: number; content: number; total: number }> {
  const m = model.manifest;
  const ids = await staleEmbeddingIds(db, m.dataset, m.version, options.slot);
  const totals = { learned: 0, content: 0, total: 0 };
  const step = WRITE_CHUNK * 4;
  for (let start = 0; start < ids.length; start += step) {
    if (start > 0) await nextTurn(); // as between writeItemEmbeddings' chunks
    const part = await writeItemEmbeddings(
      db,
      model,
      ids.slice(start, start + step),
      options.slot,
      options.chunk,
    );
    totals.learned += part.learned;
    totals.content += part.content;
    totals.total += part.learned + part.content;
    options.onProgress?.(Math.min(ids.length, start + step), ids.length);
  }
  return totals;
}

const VACUUM_TASK = 'vacuum items';

/**
 * Vacuums items when rows were rewritten (`rewritten` > 0) or a vacuum was left for later;
 * with `defer`, records it for the next start-up instead (pending_maintenance). `db` must not
 * be inside a transaction (VACUUM cannot be).
 */
export async function vacuumItems(
  db: Queryable,
  rewritten: number,
  defer = false,
): Promise<'vacuumed' | 'deferred' | 'none'> {
  // A rewritten row leaves its old version in every HNSW index of items until a vacuum (an
  // UPDATE re-inserts the row into each index, also the slot it did not change): index scans
  // then spend their ef_search budget on dead entries. Measured on the full Beauty catalogue
  // (PGlite, ef_search 64, 500 users): recall@10 of the serving slot 0.975, 0.944 after the
  // other slot was written, 0.980 after the vacuum. Fresh statistics also let the planner
  // pick the index.
  if (rewritten > 0 && defer) {
    await deferMaintenance(db, VACUUM_TASK);
    return 'deferred';
  }
  const pending = await takeMaintenance(db, VACUUM_TASK);
  if (rewritten === 0 && !pending) return 'none';
  await vacuumItemsTable(db);
  return 'vacuumed';
}

/**
 * After `rewritten` rows got the model's embeddings: vacuums items (vacuumItems) and stamps
 * model_versions.embeddings_at. `db` must not be inside a transaction.
 */
export async function finishEmbeddings(
  db: Queryable,
  model: SequenceModel,
  rewritten: number,
): Promise<void> {
  await vacuumItems(db, rewritten);
  await markEmbedded(db, model.version);
}

/**
 * Brings every item of the model's dataset up to the model's version in `options.slot`, and
 * runs a vacuum a rollout left for it (vacuumItems). Cheap when nothing changed (one indexed
 * count), so it runs at every start. `db` must not be inside a transaction (it vacuums).
 */
export async function syncItemEmbeddings(
  db: Queryable,
  model: SequenceModel,
  options: WriteOptions = {},
): Promise<{ learned: number; content: number; total: number }> {
  await recordModel(db, model);
  const totals = await writeStaleEmbeddings(db, model, options);
  await finishEmbeddings(db, model, totals.total);
  return totals;
}
