// Checks a candidate model directory before it may serve: its manifest, the ONNX contract and
// export parity of each graph (src/inference/contract.ts), that it fits this gateway's
// database (embedding dimension, dataset, vocabulary) and that it loads.
import path from 'node:path';
import type { Queryable } from '../db/client.js';
import {
  contractProblems,
  GRAPHS,
  parityDiffs,
  readParity,
  runFixture,
  type GraphName,
  type ParityFixture,
} from '../inference/contract.js';
import { bindTerms, scorerTermInputs } from '../forecast/terms/index.js';
import type { Model, SequenceModel } from '../inference/model.js';
import { readManifest, recordedManifest, type ModelManifest } from '../inference/manifest.js';
import { ort } from '../inference/onnx.js';
import { mismatchedEmbeddingColumns } from './embeddings.js';
import { recordedWithManifest } from '../db/model-versions.js';
import { countStoredAmong } from '../db/items.js';

/** One named check and what it found. */
export interface ModelCheck {
  name: string;
  passed: boolean;
  detail: string;
}

export interface ValidationOptions {
  db: Queryable;
  /** The model serving a dataset now, or null (the candidate needs a version of its own). */
  serving: (dataset: string) => SequenceModel | null;
  /** Loads a model directory as the gateway serves it (provider, threads, worker). */
  load: (dir: string) => Promise<Model>;
  /**
   * `all` (a rollout): every check. `start-up`: the manifest, the embedding dimension and the
   * load only — the models a gateway is started with are its operator's choice, served as they
   * are (version, graph and vocabulary checks are for a model replacing one that serves).
   */
  scope?: 'all' | 'start-up';
}

/**
 * Runs every check on the model directory `dir`. `model` is the loaded candidate when every
 * check passed (the caller owns it), else null (nothing is left open). Checks that need one
 * that failed are not run: without a readable manifest nothing else is; `load` and
 * `vocabulary` only run when everything before them passed.
 */
export async function validateCandidate(
  dir: string,
  options: ValidationOptions,
): Promise<{ checks: ModelCheck[]; model: Model | null }> {
  const checks: ModelCheck[] = [];
  let manifest: ModelManifest;
  try {
    manifest = await readManifest(dir);
    checks.push(
      pass(
        'manifest',
        `${manifest.version}: ${manifest.dataset}, dim ${manifest.dim}, ${manifest.numItems} items`,
      ),
    );
  } catch (err) {
    checks.push(fail('manifest', describe(err)));
    return { checks, model: null };
  }
  const all = (options.scope ?? 'all') === 'all';
  const serving = options.serving(manifest.dataset);
  if (all) checks.push(await versionCheck(options.db, manifest, serving));
  checks.push(await dimensionCheck(options.db, manifest));
  if (all) {
    checks.push(datasetCheck(manifest, serving));
    checks.push(...(await graphChecks(dir, manifest)));
  }
  if (checks.some((c) => !c.passed)) return { checks, model: null };

  let model: Model;
  try {
    model = await options.load(dir);
  } catch (err) {
    checks.push(fail('load', describe(err)));
    return { checks, model: null };
  }
  try {
    // The scoring terms read their tables as the serving engine will (src/forecast/terms/).
    const terms = bindTerms(model).list.map((t) => t.name);
    checks.push(
      pass(
        'load',
        `vocabulary, item embeddings, ONNX sessions (${model.provider}) and scoring terms ` +
          `[${terms.join(', ')}] loaded`,
      ),
    );
  } catch (err) {
    await model.release();
    checks.push(fail('load', describe(err)));
    return { checks, model: null };
  }
  if (!all) return { checks, model };
  try {
    checks.push(await vocabularyCheck(options.db, model));
  } catch (err) {
    await model.release();
    throw err;
  }
  if (checks.some((c) => !c.passed)) {
    await model.release();
    return { checks, model: null };
  }
  return { checks, model };
}

const pass = (name: string, detail: string): ModelCheck => ({ name, passed: true, detail });
const fail = (name: string, detail: string): ModelCheck => ({ name, passed: false, detail });

/** A new model needs a version of its own: forecasts and stored embeddings are traced by it. */
async function versionCheck(
  db: Queryable,
  manifest: ModelManifest,
  serving: SequenceModel | null,
): Promise<ModelCheck> {
  if (manifest.version === serving?.version) {
    return fail(
      'version',
      `${manifest.version} is serving already: give the new model a version of its own`,
    );
  }
  const recorded = await recordedWithManifest(db, manifest.version, recordedManifest(manifest));
  if (recorded === false) {
    return fail(
      'version',
      `${manifest.version} is recorded in model_versions with another manifest: give the new model a version of its own`,
    );
  }
  return pass(
    'version',
    recorded ? `${manifest.version} (served before, same manifest)` : `${manifest.version} (new)`,
  );
}

/** Both embedding slots' columns must have the candidate's dimension (it may go to either). */
async function dimensionCheck(db: Queryable, manifest: ModelManifest): Promise<ModelCheck> {
  const wrong = await mismatchedEmbeddingColumns(db, manifest.dim);
  return wrong.length === 0
    ? pass(
        'dimension',
        `dim ${manifest.dim} = items.embedding, items.embedding_b vector(${manifest.dim})`,
      )
    : fail(
        'dimension',
        `dim ${manifest.dim}, but ${wrong.map((c) => `items.${c.column} is vector(${c.dim})`).join(', ')}: use a model of that dimension, or a new database created with EMBEDDING_DIM=${manifest.dim}`,
      );
}

/** Which model the candidate replaces: its dataset's serving one, or none (a first model). */
function datasetCheck(manifest: ModelManifest, serving: SequenceModel | null): ModelCheck {
  return pass(
    'dataset',
    serving
      ? `${manifest.dataset}, served by ${serving.version} until the switch`
      : `${manifest.dataset}, served by no model yet (popularity fallbacks): its first model`,
  );
}

/** `contract.<graph>` and `parity.<graph>` for each ONNX graph, on CPU sessions of its own. */
async function graphChecks(dir: string, manifest: ModelManifest): Promise<ModelCheck[]> {
  let parity: ParityFixture | null = null;
  const checks: ModelCheck[] = [];
  try {
    parity = await readParity(dir);
  } catch (err) {
    checks.push(fail('parity', describe(err)));
  }
  for (const graph of GRAPHS) checks.push(...(await graphCheck(dir, manifest, graph, parity)));
  return checks;
}

async function graphCheck(
  dir: string,
  manifest: ModelManifest,
  graph: GraphName,
  parity: ParityFixture | null,
): Promise<ModelCheck[]> {
  const file = manifest.files[graph];
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path.join(dir, file));
  } catch (err) {
    return [fail(`contract.${graph}`, `cannot open ${file}: ${describe(err)}`)];
  }
  try {
    const problems = contractProblems(graph, session, manifest, scorerTermInputs(manifest));
    const contract =
      problems.length === 0
        ? pass(
            `contract.${graph}`,
            `${file}: inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`,
          )
        : fail(`contract.${graph}`, `${file}: ${problems.join('; ')}`);
    if (!parity) return [contract];
    return [contract, await parityCheck(session, file, graph, parity)];
  } finally {
    await session.release();
  }
}

async function parityCheck(
  session: ort.InferenceSession,
  file: string,
  graph: GraphName,
  parity: ParityFixture,
): Promise<ModelCheck> {
  const name = `parity.${graph}`;
  const fixture = parity[graph];
  const tolerance = fixture.tolerance ?? parity.tolerance;
  const fed = Object.keys(fixture.inputs).sort();
  const takes = [...session.inputNames].sort();
  if (fed.join() !== takes.join()) {
    return fail(name, `parity.json feeds [${fed.join(', ')}], ${file} takes [${takes.join(', ')}]`);
  }
  let outputs: Record<string, ort.Tensor>;
  try {
    outputs = await runFixture(session, fixture.inputs);
  } catch (err) {
    return fail(name, `${file} cannot run the parity inputs: ${describe(err)}`);
  }
  const diffs = parityDiffs(outputs, fixture.outputs);
  const found = diffs.map(
    (d) => `${d.output} ${d.problem ?? `max |Δ| ${d.diff.toExponential(2)}`}`,
  );
  return diffs.length > 0 && diffs.every((d) => d.diff <= tolerance)
    ? pass(name, `${found.join(', ')} ≤ tolerance ${tolerance}`)
    : fail(
        name,
        `${diffs.length === 0 ? 'parity.json has no outputs' : found.join(', ')}; tolerance ${tolerance}`,
      );
}

/** The candidate must know at least one stored item of its dataset, or it serves nobody. */
async function vocabularyCheck(db: Queryable, model: Model): Promise<ModelCheck> {
  const dataset = model.manifest.dataset;
  const { stored, known } = await countStoredAmong(
    db,
    dataset,
    model.vocab.items.filter((id) => model.knows(id)),
  );
  const detail = `${known} of ${stored} stored ${dataset} items are in the vocabulary`;
  return known > 0 ? pass('vocabulary', detail) : fail('vocabulary', detail);
}

/** An error and its causes in one line; a zod error as its issues. */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 4;) {
    const issues = zodIssues(e);
    if (issues) {
      parts.push(
        issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; '),
      );
      break;
    }
    parts.push(e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}

/** The issues of a ZodError (the manifest, vocabularies, parity.json). */
function zodIssues(e: unknown): { path: PropertyKey[]; message: string }[] | null {
  if (!(e instanceof Error) || e.name !== 'ZodError') return null;
  const issues = (e as { issues?: unknown }).issues;
  return Array.isArray(issues) ? (issues as { path: PropertyKey[]; message: string }[]) : null;
}
