// The schema against its committed snapshot (schema/snapshot/schema.graphql): a breaking change
// for clients (a removed field or type, a changed argument, …) fails here until the snapshot is
// updated on purpose with `npm run schema:snapshot`; so does any change not yet snapshotted.
import { readFileSync } from 'node:fs';
import { buildSchema, findBreakingChanges } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printedSchema, SNAPSHOT } from '../src/server.js';

const breakingChanges = (old: string, now: string) =>
  findBreakingChanges(buildSchema(old), buildSchema(now)).map((c) => `${c.type}: ${c.description}`);

/** `sdl` without the member printed as `line` and the description block printed above it. */
function without(sdl: string, line: string): string {
  const lines = sdl.split('\n');
  const at = lines.indexOf(line);
  let start = at;
  if (lines[at - 1]?.trim() === '"""') {
    start = at - 2;
    while (start > 0 && lines[start]?.trim() !== '"""') start--;
  }
  return [...lines.slice(0, start), ...lines.slice(at + 1)].join('\n');
}

describe('schema snapshot', () => {
  const snapshot = readFileSync(SNAPSHOT, 'utf8');
  const current = printedSchema();

  it('has no breaking change against the committed snapshot', () => {
    expect(breakingChanges(snapshot, current)).toEqual([]);
  });

  it('is up to date (run `npm run schema:snapshot` after a deliberate change)', () => {
    expect(current).toBe(snapshot);
  });

  it('reports a removed field and a removed enum value as breaking', () => {
    const edited = without(without(current, '  strategyDetail: String'), '  GLOBAL_POPULARITY');
    expect(breakingChanges(current, edited)).toEqual([
      'VALUE_REMOVED_FROM_ENUM: GLOBAL_POPULARITY was removed from enum type ForecastStrategy.',
      'FIELD_REMOVED: InterestForecast.strategyDetail was removed.',
    ]);
  });
});
