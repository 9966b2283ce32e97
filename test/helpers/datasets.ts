// A second (and third) dataset beside Beauty for the multi-dataset suites: the same Beauty
// slice imported again under another dataset name, and the shipped model rewritten for it.
import { copyFile, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { MODEL_DIR } from './forecast.js';
import { tempDir } from './fixtures.js';

/**
 * Imports the slice `files` (Beauty.txt, Beauty_item2attributes.json) as dataset `name`:
 * the importer names the dataset after the file (`Cosmetics.txt` → `cosmetics`), so the ids
 * become `cosmetics:<raw>` and the categories `cosmetics:a<raw>`.
 */
export async function importSliceAs(
  db: Db,
  files: { sequences: string; attributes: string },
  name: string,
): Promise<void> {
  const dir = await tempDir();
  const base = name[0]!.toUpperCase() + name.slice(1);
  const sequences = path.join(dir, `${base}.txt`);
  const attributes = path.join(dir, `${base}_item2attributes.json`);
  await copyFile(files.sequences, sequences);
  await copyFile(files.attributes, attributes);
  await importAmazon(db, { sequences: [sequences], attributes: [attributes] });
}

/**
 * The shipped Beauty model as a model of `dataset` under `version`: model.json and vocab.json
 * rewritten (ids `beauty:…` → `<dataset>:…`), the other files linked. Served over the same
 * slice imported as `dataset`, it forecasts what the Beauty model forecasts for Beauty.
 */
export async function renamedModel(dataset: string, version: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `foresight-model-${dataset}-`));
  const source = path.resolve(MODEL_DIR);
  for (const f of await readdir(source)) {
    const from = path.join(source, f);
    if (f === 'model.json') {
      const m = JSON.parse(await readFile(from, 'utf8')) as Record<string, unknown>;
      await writeFile(path.join(dir, f), JSON.stringify({ ...m, dataset, version }));
    } else if (f === 'vocab.json') {
      const v = JSON.parse(await readFile(from, 'utf8')) as {
        items: string[];
        attributes: string[];
      };
      const rename = (id: string) => id.replace(/^beauty:/, `${dataset}:`);
      await writeFile(
        path.join(dir, f),
        JSON.stringify({ ...v, items: v.items.map(rename), attributes: v.attributes.map(rename) }),
      );
    } else await symlink(from, path.join(dir, f));
  }
  return dir;
}
