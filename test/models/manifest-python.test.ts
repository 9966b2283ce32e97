// The training side of the one manifest schema: models/training/manifest.py checks model.json files
// against models/manifest.schema.json (generated from src/inference/manifest.ts), naming the JSON
// path of every error, and export.py writes no model.json that fails it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/fixtures.js';
import { PYTHON, runTrainingSnippet } from '../helpers/python.js';
import { readJson } from './contract.js';

const dirs = tempDirs();
afterAll(() => dirs.removeAll());

// absolute: the snippet below runs in models/training/
const SMOKE = [
  '--data', path.resolve('data/amazon/Beauty.txt'), '--attributes', path.resolve('data/amazon/Beauty_item2attributes.json'),
  '--max-users', '300',
  '--max-steps', '3', '--epochs', '1', '--content-epochs', '1', '--dim', '16',
];

function manifestCli(...files: string[]) {
  return spawnSync(PYTHON, ['models/training/manifest.py', ...files], { encoding: 'utf8', timeout: 30_000 });
}

/** A copy of the shipped Beauty model.json with `change` applied, in a temporary directory. */
async function beautyCopy(change: (meta: Record<string, unknown>) => void): Promise<string> {
  const meta = readJson<Record<string, unknown>>('models/beauty/model.json');
  change(meta);
  const file = path.join(await dirs.make(), 'model.json');
  fs.writeFileSync(file, JSON.stringify(meta, null, 2));
  return file;
}

describe('manifest.py', () => {
  it('accepts the shipped models, one line per file', () => {
    const run = manifestCli('models/beauty/model.json', 'models/diginetica/model.json');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual([
      'models/beauty/model.json: valid',
      'models/diginetica/model.json: valid',
    ]);
  });

  it('rejects a wrong type with exit code 1, naming its path, and still reports the valid file', async () => {
    const bad = await beautyCopy((meta) => {
      meta.dim = '64';
    });
    const run = manifestCli('models/beauty/model.json', bad);
    expect(run.status).toBe(1);
    expect(run.stdout.trim().split('\n')).toEqual([
      'models/beauty/model.json: valid',
      `${bad}: invalid: $.dim: '64' is not of type 'integer'`,
    ]);
  });

  it('rejects an unknown top-level key and a wrong nested value, listing every error', async () => {
    const bad = await beautyCopy((meta) => {
      meta.promoted = true;
      (meta.scorer as Record<string, unknown>).markovItems = 0;
    });
    const run = manifestCli(bad);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(`${bad}: invalid: `);
    expect(run.stdout).toContain("$: Additional properties are not allowed ('promoted' was unexpected)");
    expect(run.stdout).toContain('$.scorer.markovItems: 0 is less than or equal to the minimum of 0');
  });

  it('accepts the model.json of a smoke export with every scoring term', { timeout: 120_000 }, async () => {
    const out = await dirs.make();
    const train = spawnSync(
      PYTHON,
      [
        'models/training/train.py', ...SMOKE, '--out', out, '--markov', '--markov-refine', '--markov-items', '2',
        '--cooccurrence', '--cooccurrence-neighbors', '20', '--cooccurrence-sequential', '3', '--exclude-history',
      ],
      { encoding: 'utf8', timeout: 110_000 },
    );
    expect(train.status, train.stderr + train.stdout).toBe(0);
    // the optional parts the schema has to cover (seed 42 chooses a co-occurrence weight > 0 here)
    const meta = readJson<{ scorer: Record<string, unknown>; files: Record<string, string> }>(
      path.join(out, 'model.json'),
    );
    expect(meta.scorer).toMatchObject({ markovRefined: true, markovItems: 2, excludeHistory: true });
    expect(meta.scorer.cooccurrence).toMatchObject({ neighbors: 20, sequential: { maxGap: 3 } });
    expect(meta.files).toMatchObject({ transitions: 'transitions.bin', cooccurrence: 'cooccurrence.bin' });
    const run = manifestCli(path.join(out, 'model.json'));
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(`${path.join(out, 'model.json')}: valid`);
  });

  it('is checked by export.py, which writes no model.json the schema rejects', { timeout: 120_000 }, async () => {
    const out = await dirs.make();
    // train.py with export's check seeing a wrong type and an unknown key in what it would write
    const script = `
import sys
from foresight_training import manifest
from foresight_training.sequence import train
errors = manifest.errors
manifest.errors = lambda meta: errors({**meta, "dim": str(meta["dim"]), "promoted": True})
train.main(sys.argv[1:])
`;
    const run = runTrainingSnippet(script, [...SMOKE, '--out', out], 110_000);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`not writing ${path.join(out, 'model.json')}: it does not match`);
    expect(run.stderr).toContain("$: Additional properties are not allowed ('promoted' was unexpected)");
    expect(run.stderr).toContain("$.dim: '16' is not of type 'integer'");
    expect(fs.existsSync(path.join(out, 'scorer.onnx'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'model.json'))).toBe(false);
  });
});
