// The training code's interpreter (Debian's, with PyTorch), for tests that run it; PYTHON
// overrides it. `runTrainingSnippet` runs a snippet that imports the training package
// (`from foresight_training.sequence.data import ...`): it runs in models/training/, where the
// package is, so the paths it is given must be absolute.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';

export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

/** models/training/: the entry scripts, and the package beside them. */
export const TRAINING_DIR = path.resolve('models/training');

export function runTrainingSnippet(
  script: string,
  args: readonly string[] = [],
  timeout = 60_000,
): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, ['-c', script, ...args], {
    encoding: 'utf8',
    timeout,
    cwd: TRAINING_DIR,
  });
}
