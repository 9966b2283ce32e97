// Small real slices of the bundled data, written to a temporary directory.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BEAUTY_TXT = path.resolve('data/amazon/Beauty.txt');
export const BEAUTY_ATTRS = path.resolve('data/amazon/Beauty_item2attributes.json');
export const BEAUTY_TEXT = path.resolve('data/amazon/Beauty_item_text.tsv');
export const BEAUTY_NAMES = path.resolve('data/amazon/Beauty_attribute_names.tsv');
export const DIGINETICA_DIR = path.resolve('../shared/data/diginetica');

export async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'foresight-test-'));
}

/** The first `users` lines of Beauty.txt and the attributes of the items they mention,
 * as `Beauty.txt` / `Beauty_item2attributes.json` (dataset `beauty`). */
export async function beautySlice(
  users: number,
): Promise<{ sequences: string; attributes: string; lines: string[] }> {
  const dir = await tempDir();
  const lines = (await readFile(BEAUTY_TXT, 'utf8')).split('\n').slice(0, users);
  const items = new Set(lines.flatMap((l) => l.split(' ').slice(1)));
  const attrs = JSON.parse(await readFile(BEAUTY_ATTRS, 'utf8')) as Record<string, number[]>;
  const sliced = Object.fromEntries(Object.entries(attrs).filter(([k]) => items.has(k)));
  const sequences = path.join(dir, 'Beauty.txt');
  const attributes = path.join(dir, 'Beauty_item2attributes.json');
  await writeFile(sequences, lines.join('\n') + '\n');
  await writeFile(attributes, JSON.stringify(sliced));
  return { sequences, attributes, lines };
}

/** The rows of a test/fixtures/diginetica CSV file (semicolon-separated), header left out. */
export async function digineticaFixture(file: string): Promise<string[][]> {
  const text = await readFile(path.resolve('test/fixtures/diginetica', file), 'utf8');
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => l.split(';'));
}

/** Temporary directories removed together by `removeAll` (call it in afterAll). */
export function tempDirs(): { make: () => Promise<string>; removeAll: () => Promise<void> } {
  const made: string[] = [];
  return {
    make: async () => {
      const d = await tempDir();
      made.push(d);
      return d;
    },
    removeAll: async () => {
      await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}
