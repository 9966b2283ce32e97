// Start-up with MODEL_DIRS (src/main.ts as its own process): one model per dataset, each
// embedding its own dataset's items; a restart finds each model's vectors in the slot that
// holds its version (after a rollout: the other one) instead of rewriting them; two models of
// one dataset stop the start.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { importAmazon } from '../src/import/amazon.js';
import { backends } from './helpers/backends.js';
import { importSliceAs, renamedModel } from './helpers/datasets.js';
import { beautySlice, tempDir } from './helpers/fixtures.js';
import { MODEL_DIR } from './helpers/forecast.js';

type Json = Record<string, any>;

const MIXED = `{
  b: users(first: 2, dataset: "beauty") { edges { node { interestForecast(first: 3) { modelVersion } } } }
  c: users(first: 2, dataset: "cosmetics") { edges { node { interestForecast(first: 3) { modelVersion } } } }
  modelStatus { datasets { dataset serving { version embeddingColumn } } }
}`;

interface Gateway {
  child: ChildProcess;
  url: string;
  output: () => string;
}

describe.each(backends)('start-up with MODEL_DIRS on $name', (backend) => {
  let storage: Record<string, string>;
  let dispose: () => Promise<void>;
  /** Maintenance left for the next start-up (read while no gateway holds the database). */
  let pending: () => Promise<string[]>;
  const temps: string[] = [];
  let cosmetics1: string;
  let cosmetics2: string;
  const running: ChildProcess[] = [];

  /** Starts src/main.ts over the prepared database; resolves once it answers (or exits). */
  async function start(modelDirs: string[]): Promise<Gateway> {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    let output = '';
    const child = spawn('node', ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        ...storage,
        MODEL_DIR: '',
        MODEL_DIRS: modelDirs.join(','),
        PORT: String(port),
        AUTO_IMPORT: 'false',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 120_000;
    while (child.exitCode === null) {
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`the gateway did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { child, url, output: () => output };
  }

  async function stop(g: Gateway): Promise<void> {
    if (g.child.exitCode !== null) return;
    g.child.kill('SIGTERM');
    await once(g.child, 'exit');
  }

  async function gql(g: Gateway, query: string, variables?: Json): Promise<Json> {
    const res = await fetch(`${g.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Json; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data as Json;
  }

  const versions = (data: Json, alias: string) =>
    (data[alias].edges as Json[]).map((e) => e.node.interestForecast.modelVersion as string);

  beforeAll(async () => {
    const slice = await beautySlice(30);
    const fill = async (db: Db) => {
      await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
      await importSliceAs(db, slice, 'cosmetics');
    };
    if (backend.name === 'pglite') {
      const dir = await tempDir();
      temps.push(dir);
      const db = await openPglite(dir);
      await migrate(db, { EMBEDDING_DIM: 64 });
      await fill(db);
      await db.close();
      storage = { DATA_DIR: dir, DATABASE_URL: '' };
      dispose = async () => {};
      pending = async () => {
        const again = await openPglite(dir);
        try {
          return (
            await again.query<{ task: string }>('SELECT task FROM pending_maintenance')
          ).rows.map((r) => r.task);
        } finally {
          await again.close();
        }
      };
    } else {
      const opened = await backend.open();
      await fill(opened.db);
      storage = { DATABASE_URL: opened.url as string };
      dispose = opened.dispose;
      pending = async () =>
        (await opened.db.query<{ task: string }>('SELECT task FROM pending_maintenance')).rows.map(
          (r) => r.task,
        );
    }
    cosmetics1 = await renamedModel('cosmetics', 'cosmetics-start-1');
    cosmetics2 = await renamedModel('cosmetics', 'cosmetics-start-2');
    temps.push(cosmetics1, cosmetics2);
  }, 120_000);

  afterAll(async () => {
    for (const child of running) {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    await dispose?.();
    await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('serves each dataset from its own model, and a restart after a rollout rewrites nothing', async () => {
    const missing = path.join(temps[temps.length - 1]!, 'not-trained-yet');
    const first = await start([MODEL_DIR, cosmetics1, missing]);
    try {
      expect(first.output()).toContain(`no model in ${missing} (model.json missing)`);
      expect(first.output()).toMatch(/beauty item embeddings written \(embedding\)/);
      expect(first.output()).toMatch(/cosmetics item embeddings written \(embedding\)/);
      const data = await gql(first, MIXED);
      expect(new Set(versions(data, 'b')).size).toBe(1);
      expect(versions(data, 'b')[0]).toMatch(/^beauty-/);
      expect(versions(data, 'c')).toEqual(['cosmetics-start-1', 'cosmetics-start-1']);
      // The rollout writes the new cosmetics model into the slot the old one does not read.
      const out = await gql(
        first,
        `mutation($d: String!) { rolloutModel(directory: $d) { dataset to embeddingsWritten } }`,
        { d: cosmetics2 },
      );
      expect(out.rolloutModel).toMatchObject({ dataset: 'cosmetics', to: 'cosmetics-start-2' });
      expect(out.rolloutModel.embeddingsWritten).toBeGreaterThan(0);
    } finally {
      await stop(first);
    }
    expect(first.child.exitCode).toBe(0);
    // PGlite's rollout left the vacuum of its rewritten rows to the next start; PostgreSQL's
    // vacuumed before the switch.
    expect(await pending()).toEqual(backend.name === 'pglite' ? ['vacuum items'] : []);

    // Made permanent: the restart finds both models' vectors where they are.
    const second = await start([MODEL_DIR, cosmetics2]);
    try {
      expect(second.output()).not.toMatch(/item embeddings written/);
      const data = await gql(second, MIXED);
      expect(versions(data, 'c')).toEqual(['cosmetics-start-2', 'cosmetics-start-2']);
      expect(
        data.modelStatus.datasets.map((d: Json) => [d.dataset, d.serving.embeddingColumn]),
      ).toEqual([
        ['beauty', 'embedding'],
        ['cosmetics', 'embedding_b'],
      ]);
    } finally {
      await stop(second);
    }
    expect(await pending()).toEqual([]);
  }, 240_000);

  it('refuses two model directories of one dataset', async () => {
    const g = await start([MODEL_DIR, cosmetics1, cosmetics2]);
    if (g.child.exitCode === null) await once(g.child, 'exit');
    expect(g.child.exitCode).toBe(1);
    expect(g.output()).toContain(
      `MODEL_DIRS: ${cosmetics1} and ${cosmetics2} are both models of dataset cosmetics`,
    );
  }, 120_000);
});
