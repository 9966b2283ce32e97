// A gateway with a rollout manager over the forecast fixture, and candidate model directories
// (models/beauty linked file by file, with model.json and parity.json edited) for the rollout
// and gate suites.
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Model } from '../../src/inference/model.js';
import { ModelRegistry } from '../../src/serving/registry.js';
import { ModelRollouts } from '../../src/serving/rollouts.js';
import type { Backend } from './backends.js';
import { MODEL_DIR, openForecastFixture, type ForecastFixture } from './forecast.js';
import { startServer, type TestServer } from './server.js';

type Json = Record<string, any>;

const temps: string[] = [];

/**
 * A candidate model directory: models/beauty linked file by file, with model.json (and
 * parity.json) edited, and `files` replaced (null: removed). Removed by the fixture's close.
 */
export async function candidateModel(edit: {
  manifest?: (m: Json) => void;
  parity?: (p: Json) => void;
  files?: Record<string, Buffer | null>;
}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-rollout-'));
  temps.push(dir);
  const source = path.resolve(MODEL_DIR);
  for (const f of await readdir(source)) {
    const replaced = edit.files?.[f];
    if (replaced === null) continue;
    if (replaced) await writeFile(path.join(dir, f), replaced);
    else if (f === 'model.json' || (f === 'parity.json' && edit.parity)) {
      const json = JSON.parse(await readFile(path.join(source, f), 'utf8')) as Json;
      (f === 'model.json' ? edit.manifest : edit.parity)?.(json);
      await writeFile(path.join(dir, f), JSON.stringify(json));
    } else await symlink(path.join(source, f), path.join(dir, f));
  }
  return dir;
}

export interface RolloutFixture {
  f: ForecastFixture;
  registry: ModelRegistry;
  server: TestServer;
  /** Closes the server, the engines rolled in, the fixture; removes the candidates. */
  close(): Promise<void>;
}

/** The forecast fixture's engine as the registry's only model, served with rollouts. */
export async function openRolloutFixture(backend: Backend, users: number): Promise<RolloutFixture> {
  const f = await openForecastFixture(backend, { users });
  const registry = new ModelRegistry([
    { engine: f.engine, directory: path.resolve(MODEL_DIR), loadedAt: new Date() },
  ]);
  const rollouts = new ModelRollouts({
    db: f.db,
    registry,
    load: (dir) => Model.load(dir, 'cpu'),
    createEngine: f.createEngine,
    workers: 1,
  });
  const server = await startServer(f.db, {}, { registry, rollouts });
  return {
    f,
    registry,
    server,
    async close() {
      await server.close();
      for (const s of registry.loaded()) {
        if (s.engine === f.engine) continue;
        await s.engine.close();
        await s.engine.model.release();
      }
      await f.close();
      await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}
