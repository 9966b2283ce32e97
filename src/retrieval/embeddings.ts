// Keeps items.embedding in step with the loaded model: items the model was trained on get their
// learned embedding, every other item of the model's catalogue gets the content tower's
// embedding (cold start), and the model version is recorded per item and in model_versions.
import { itemCategoryIdsSql } from '../db/items.js';
import type { Queryable } from '../db/client.js';
import type { ContentInput, Model } from '../inference/model.js';
import { toVectorLiteral } from './candidates.js';

const WRITE_CHUNK = 500;

interface ItemContentRow {
  id: string;
  title: string | null;
  description: string | null;
  price: string | null;
  category_ids: string[];
}

/** Content of items, as the content tower takes it. */
export async function loadItemContent(
  db: Queryable,
  ids: readonly string[],
): Promise<Map<string, ContentInput>> {
  const { rows } = await db.query<ItemContentRow>(
    `SELECT i.id, i.title, i.description, i.price::text AS price,
            ${itemCategoryIdsSql('i')} AS category_ids
     FROM items i WHERE i.id = ANY($1::text[])`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        attributeIds: r.category_ids,
        text: [r.title, r.description].filter(Boolean).join(' ') || null,
        price: r.price === null ? null : Number(r.price),
      },
    ]),
  );
}

/** Computes and stores embeddings for the given items (learned when known, else content). */
export async function writeItemEmbeddings(
  db: Queryable,
  model: Model,
  ids: readonly string[],
): Promise<{ learned: number; content: number }> {
  let learned = 0;
  let content = 0;
  for (let start = 0; start < ids.length; start += WRITE_CHUNK) {
    const chunk = ids.slice(start, start + WRITE_CHUNK);
    const vectors: string[] = [];
    const sources: string[] = [];
    const cold = chunk.filter((id) => !model.itemIndex.has(id));
    const coldContent = cold.length > 0 ? await loadItemContent(db, cold) : new Map();
    const coldInputs = cold.map(
      (id) => coldContent.get(id) ?? { attributeIds: [], text: null, price: null },
    );
    const coldVectors = cold.length > 0 ? await model.embedContent(coldInputs) : [];
    const coldById = new Map(cold.map((id, k) => [id, coldVectors[k] as Float32Array]));
    for (const id of chunk) {
      const v = model.learnedEmbedding(id);
      if (v) {
        learned++;
        vectors.push(toVectorLiteral(v));
        sources.push('model');
      } else {
        content++;
        vectors.push(toVectorLiteral(coldById.get(id) as Float32Array));
        sources.push('content');
      }
    }
    await db.query(
      `UPDATE items AS i
       SET embedding = u.e::vector, embedding_source = u.s, embedding_model_version = $4
       FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) AS e, unnest($3::text[]) AS s) u
       WHERE i.id = u.id`,
      [chunk, vectors, sources, model.version],
    );
  }
  return { learned, content };
}

/** The dimension of items.embedding, `vector(n)`, fixed by the first migration (EMBEDDING_DIM). */
export async function embeddingColumnDim(db: Queryable): Promise<number | undefined> {
  const { rows } = await db.query<{ dim: number }>(
    `SELECT atttypmod AS dim FROM pg_attribute
     WHERE attrelid = 'items'::regclass AND attname = 'embedding'`,
  );
  return rows[0]?.dim;
}

/** Records the model in model_versions (once per version), as every forecast names it. */
export async function recordModelVersion(db: Queryable, model: Model): Promise<void> {
  const m = model.manifest;
  await db.query(
    `INSERT INTO model_versions (version, dataset, dim, manifest) VALUES ($1, $2, $3, $4)
     ON CONFLICT (version) DO NOTHING`,
    [m.version, m.dataset, m.dim, JSON.stringify(m)],
  );
}

/**
 * Writes the model's embedding for every item of its dataset that holds another version's (or
 * none); inside `db`'s transaction when `db` is one (src/rollout/slot.ts switches that way).
 */
export async function writeStaleEmbeddings(
  db: Queryable,
  model: Model,
  onProgress?: (done: number, total: number) => void,
): Promise<{ learned: number; content: number; total: number }> {
  const m = model.manifest;
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM items
     WHERE dataset = $1 AND embedding_model_version IS DISTINCT FROM $2 ORDER BY id`,
    [m.dataset, m.version],
  );
  const ids = rows.map((r) => r.id);
  const totals = { learned: 0, content: 0, total: ids.length };
  for (let start = 0; start < ids.length; start += WRITE_CHUNK * 4) {
    const part = await writeItemEmbeddings(db, model, ids.slice(start, start + WRITE_CHUNK * 4));
    totals.learned += part.learned;
    totals.content += part.content;
    onProgress?.(Math.min(ids.length, start + WRITE_CHUNK * 4), ids.length);
  }
  return totals;
}

/**
 * After `rewritten` rows got the model's embeddings: vacuums items and stamps
 * model_versions.embeddings_at. `db` must not be inside a transaction (VACUUM cannot be).
 */
export async function finishEmbeddings(
  db: Queryable,
  model: Model,
  rewritten: number,
): Promise<void> {
  // Rewritten rows leave their old versions in the HNSW index until a vacuum: index scans
  // then spend their ef_search budget on dead entries (measured: recall@10 at ef_search 64
  // fell from 0.965 to 0.921 after two model versions, 24k dead rows, autovacuum off). Vacuum
  // them now; fresh statistics also let the planner pick the index. Runs only when something
  // was rewritten (a new model version, new items); VACUUM cannot run inside a transaction.
  if (rewritten > 0) await db.query('VACUUM (ANALYZE) items');
  await db.query(`UPDATE model_versions SET embeddings_at = now() WHERE version = $1`, [
    model.version,
  ]);
}

/**
 * Brings every item of the model's dataset up to the model's version. Cheap when nothing
 * changed (one indexed count), so it runs at every start. `db` must not be inside a
 * transaction (it vacuums).
 */
export async function syncItemEmbeddings(
  db: Queryable,
  model: Model,
  onProgress?: (done: number, total: number) => void,
): Promise<{ learned: number; content: number; total: number }> {
  await recordModelVersion(db, model);
  const totals = await writeStaleEmbeddings(db, model, onProgress);
  await finishEmbeddings(db, model, totals.total);
  return totals;
}
