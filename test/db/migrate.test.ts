// Migrations: the embedding column takes its dimension from configuration, the HNSW index
// exists, and a second run applies nothing.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { backends } from '../helpers/backends.js';

describe.each(backends)('migrations on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  beforeAll(async () => ({ db, dispose } = await backend.open()));
  afterAll(async () => dispose?.());

  it('creates items.embedding as vector(EMBEDDING_DIM) with an inner-product HNSW index', async () => {
    const { rows } = await db.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = 'items'::regclass AND attname = 'embedding'`,
    );
    expect(rows).toEqual([{ type: 'vector(64)' }]);
    const { rows: idx } = await db.query<{ def: string }>(
      "SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'items_embedding_hnsw_idx'",
    );
    expect(idx[0]?.def).toMatch(/USING hnsw \(embedding vector_ip_ops\)/);
  });

  it('creates the second embedding slot, items.embedding_b, alike (migration 016)', async () => {
    const { rows } = await db.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = 'items'::regclass AND attname LIKE 'embedding_b%' ORDER BY attnum`,
    );
    expect(rows).toEqual([
      { name: 'embedding_b', type: 'vector(64)' },
      { name: 'embedding_b_source', type: 'text' },
      { name: 'embedding_b_model_version', type: 'text' },
    ]);
    const { rows: idx } = await db.query<{ def: string }>(
      "SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'items_embedding_b_hnsw_idx'",
    );
    expect(idx[0]?.def).toMatch(/USING hnsw \(embedding_b vector_ip_ops\)/);
  });

  it('applies nothing when run again', async () => {
    expect(await migrate(db, { EMBEDDING_DIM: 64 })).toEqual({ applied: [] });
  });

  it('refuses a migration whose placeholder has no value, changing nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'foresight-migrations-'));
    await writeFile(path.join(dir, '999.do.broken.sql'), 'CREATE TABLE t (v vector({{NOPE}}));');
    await expect(migrate(db, {}, dir)).rejects.toThrow(/\{\{NOPE\}\} has no value/);
    const { rows } = await db.query("SELECT 1 FROM pg_tables WHERE tablename = 't'");
    expect(rows).toEqual([]);
  });
});
