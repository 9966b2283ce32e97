// The training code's interpreter (Debian's, with PyTorch), for tests that run it; PYTHON
// overrides it. `runTrainingSnippet` runs a snippet that imports models/training/ modules by
// name, as the scripts there import each other.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

export function runTrainingSnippet(
  script: string,
  args: readonly string[] = [],
  timeout = 60_000,
): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, ['-c', script, ...args], {
    encoding: 'utf8',
    timeout,
    env: { ...process.env, PYTHONPATH: 'models/training' },
  });
}
