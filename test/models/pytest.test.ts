// The training package's own tests (models/training/tests/, pytest: manifest, contract, data
// readers, metrics, scoring terms, the intent model's export), run here so that `npm test` fails
// when they do.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PYTHON, TRAINING_DIR } from '../helpers/python.js';

// as many as models/training/tests/ holds: fewer passing means some went missing or were skipped
const MIN_PASSED = 40;

describe('models/training (pytest)', () => {
  it(`passes at least ${MIN_PASSED} tests, none failing or skipped`, { timeout: 120_000 }, () => {
    const run = spawnSync(PYTHON, ['-m', 'pytest', '-q'], {
      cwd: TRAINING_DIR,
      encoding: 'utf8',
      timeout: 110_000,
    });
    const output = run.stdout + run.stderr;
    expect(run.status, output).toBe(0);
    const summary = /^=*\s*(\d+ passed.*) in [\d.]+s/m.exec(run.stdout)?.[1] ?? '';
    expect(summary, output).toMatch(/^\d+ passed/);
    expect(Number(summary.split(' ')[0])).toBeGreaterThanOrEqual(MIN_PASSED);
    expect(summary).not.toMatch(/failed|error|skipped/);
  });
});
