// The model_versions table: every model that served, with the serving part of its manifest, and
// when its item embeddings were complete (forecasts name the version that made them).
import type { Queryable } from './client.js';

/** Records a model version (once: a version keeps the manifest it was first recorded with). */
export async function recordModelVersion(
  db: Queryable,
  m: { version: string; dataset: string; dim: number; manifest: unknown },
): Promise<void> {
  await db.query(
    `INSERT INTO model_versions (version, dataset, dim, manifest) VALUES ($1, $2, $3, $4)
     ON CONFLICT (version) DO NOTHING`,
    [m.version, m.dataset, m.dim, JSON.stringify(m.manifest)],
  );
}

/**
 * Whether `version` is recorded with exactly `manifest`: true, false (recorded with another),
 * or null (not recorded).
 */
export async function recordedWithManifest(
  db: Queryable,
  version: string,
  manifest: unknown,
): Promise<boolean | null> {
  const { rows } = await db.query<{ same: boolean }>(
    `SELECT manifest = $2::jsonb AS same FROM model_versions WHERE version = $1`,
    [version, JSON.stringify(manifest)],
  );
  return rows[0] ? rows[0].same : null;
}

/** Stamps model_versions.embeddings_at: the version's slot holds all its dataset's items. */
export async function markEmbedded(db: Queryable, version: string): Promise<void> {
  await db.query(`UPDATE model_versions SET embeddings_at = now() WHERE version = $1`, [version]);
}
