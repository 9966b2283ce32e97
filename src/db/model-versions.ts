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

/** The rollout gate's verdict on a version as model_versions records it (src/serving/gate.ts). */
export interface GateRecordRow {
  /** The verdict, as judgeModel returned it. */
  gate: unknown;
  admittedBy: 'ROLLOUT' | 'START_UP';
  /** Why it serves although the gate refused it (a rollout's override); else null. */
  overrideReason: string | null;
  at: Date;
}

/** Records the gate's verdict on `version` (recorded already) as of its latest admission. */
export async function recordGate(
  db: Queryable,
  version: string,
  g: { gate: unknown; admittedBy: 'ROLLOUT' | 'START_UP'; overrideReason: string | null },
): Promise<void> {
  await db.query(
    `UPDATE model_versions SET gate = $2, gate_admitted_by = $3, gate_override_reason = $4,
       gate_at = now() WHERE version = $1`,
    [version, JSON.stringify(g.gate), g.admittedBy, g.overrideReason],
  );
}

/** The recorded gate verdicts of `versions` (those without one are left out). */
export async function gatesOf(
  db: Queryable,
  versions: readonly string[],
): Promise<Map<string, GateRecordRow>> {
  const { rows } = await db.query<{
    version: string;
    gate: unknown;
    gate_admitted_by: 'ROLLOUT' | 'START_UP';
    gate_override_reason: string | null;
    gate_at: Date | string;
  }>(
    `SELECT version, gate, gate_admitted_by, gate_override_reason, gate_at FROM model_versions
     WHERE version = ANY($1::text[]) AND gate IS NOT NULL`,
    [versions],
  );
  return new Map(
    rows.map((r) => [
      r.version,
      {
        gate: typeof r.gate === 'string' ? JSON.parse(r.gate) : r.gate,
        admittedBy: r.gate_admitted_by,
        overrideReason: r.gate_override_reason,
        at: new Date(r.gate_at),
      },
    ]),
  );
}
