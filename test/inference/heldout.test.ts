// A model directory with heldout.json (trained with --holdout-items): the items it lists are in
// the vocabulary but were never trained, and the gateway treats them as new products.
import { mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Model } from '../../src/inference/model.js';
import { termsOf } from '../helpers/terms.js';

const SHIPPED = path.resolve('models/beauty');

/** models/beauty's files (linked) plus the given heldout.json content. */
async function withHeldOut(content: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-heldout-'));
  for (const f of await readdir(SHIPPED)) await symlink(path.join(SHIPPED, f), path.join(dir, f));
  await writeFile(path.join(dir, 'heldout.json'), content);
  return dir;
}

describe('held-out items of an evaluation model', () => {
  it('are unknown to the model: no learned embedding, left out of its input', async () => {
    const dir = await withHeldOut(
      JSON.stringify({ dataset: 'beauty', items: ['beauty:1', 'beauty:2'], users: [] }),
    );
    const model = await Model.load(dir, 'cpu');
    const shipped = await Model.load(SHIPPED, 'cpu');
    try {
      expect(shipped.knows('beauty:1')).toBe(true);
      expect(model.knows('beauty:1')).toBe(false);
      expect(model.knows('beauty:2')).toBe(false);
      expect(model.knows('beauty:3')).toBe(true);
      expect(model.knownItem('beauty:1')?.embedding).toBeUndefined();
      expect(model.knownItem('beauty:3')?.embedding).toEqual(
        shipped.knownItem('beauty:3')?.embedding,
      );
      const events = ['beauty:3', 'beauty:1', 'beauty:4'].map((itemId) => ({ itemId }));
      expect(termsOf(model).recentKnownItems(events)).toEqual(['beauty:4', 'beauty:3']);
      expect(termsOf(shipped).recentKnownItems(events)).toEqual([
        'beauty:4',
        'beauty:1',
        'beauty:3',
      ]);
    } finally {
      await model.release();
      await shipped.release();
    }
  });

  it('fails to load with the file named when heldout.json is malformed', async () => {
    const dir = await withHeldOut('{"items": "beauty:1"}');
    await expect(Model.load(dir, 'cpu')).rejects.toThrow(/heldout\.json/);
  });
});
