// Configuration knobs whose default is not a plain number: RETRIEVAL_COOCCURRENCE_NEIGHBORS
// (unset = every stored co-occurrence neighbour, what keeps retrieval exact).
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('RETRIEVAL_COOCCURRENCE_NEIGHBORS', () => {
  it('defaults to all stored neighbours (null), also when empty', () => {
    expect(loadConfig({}).retrieval.cooccurrenceNeighbors).toBeNull();
    expect(
      loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: '' }).retrieval.cooccurrenceNeighbors,
    ).toBeNull();
  });

  it('takes a count per recent item, 0 included', () => {
    expect(
      loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: '20' }).retrieval.cooccurrenceNeighbors,
    ).toBe(20);
    expect(
      loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: '0' }).retrieval.cooccurrenceNeighbors,
    ).toBe(0);
  });

  it('refuses a negative or fractional count, naming the variable', () => {
    for (const v of ['-1', '2.5', 'all']) {
      expect(() => loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: v })).toThrow(ConfigError);
      expect(() => loadConfig({ RETRIEVAL_COOCCURRENCE_NEIGHBORS: v })).toThrow(
        /RETRIEVAL_COOCCURRENCE_NEIGHBORS/,
      );
    }
  });
});
