// The content tower's title tokens: the gateway's tokenizer (hashTokens) and the importer's
// entity decoding give what training's foresight_training/text.py gives, on the committed
// fixture both sides check (models/training/tests/test_text.py writes it): source titles, and
// text a shop may send (accents, other scripts, NUL, emoji, empty).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeEntities } from '../../src/import/amazon-names.js';
import { hashTokens } from '../../src/inference/model.js';

const fixture = JSON.parse(readFileSync('test/fixtures/text-tokens.json', 'utf8')) as {
  buckets: number;
  decode: { raw: string; decoded: string }[];
  tokens: { text: string; tokens: number[] }[];
};

describe('title tokens, gateway against training', () => {
  it('tokenises every fixture text as training does', () => {
    expect(fixture.tokens.length).toBeGreaterThan(20);
    for (const c of fixture.tokens)
      expect(hashTokens(c.text, fixture.buckets), c.text).toEqual(c.tokens);
  });

  it('decodes the source titles as training does', () => {
    for (const c of fixture.decode) expect(decodeEntities(c.raw).trim(), c.raw).toBe(c.decoded);
  });

  it('gives no token for empty or separator-only text', () => {
    expect(hashTokens('', fixture.buckets)).toEqual([]);
    expect(hashTokens(' \u0000 – ★ ', fixture.buckets)).toEqual([]);
  });
});
