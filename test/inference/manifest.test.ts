// The one manifest schema (src/inference/manifest.ts): the committed JSON Schema the trainer
// validates against is generated from it, and the shipped models fit it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MANIFEST_JSON_SCHEMA,
  parseManifest,
  printedManifestJsonSchema,
  recordedManifest,
} from '../../src/inference/manifest.js';

const shipped = (dataset: string) =>
  JSON.parse(readFileSync(`models/${dataset}/model.json`, 'utf8')) as Record<string, unknown>;

describe('the model manifest schema', () => {
  it('is committed as JSON Schema exactly as `npm run manifest:schema` writes it', () => {
    expect(readFileSync(MANIFEST_JSON_SCHEMA, 'utf8')).toBe(printedManifestJsonSchema());
  });

  it('is strict as JSON Schema: every key an exporter writes is declared', () => {
    const schema = JSON.parse(printedManifestJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.scorer.additionalProperties).toBe(false);
    expect(schema.properties.files.additionalProperties).toBe(false);
    // Free-form documentation sections stay open.
    expect(schema.properties.training.additionalProperties).toEqual({});
  });

  it.each(['beauty', 'diginetica'])('reads the shipped %s model.json', (dataset) => {
    const manifest = parseManifest(shipped(dataset));
    expect(manifest.dataset).toBe(dataset);
    expect(manifest.scorer?.markov).toHaveLength(2);
  });

  it('records what serving reads, as earlier releases recorded it (model_versions)', () => {
    const recorded = recordedManifest(parseManifest(shipped('beauty')));
    expect(Object.keys(recorded).sort()).toEqual([
      'dataset',
      'dim',
      'dynamicLength',
      'eventTypes',
      'files',
      'heads',
      'maxLen',
      'numAttributes',
      'numItems',
      'observed',
      'priceBandsUpper',
      'scorer',
      'textHashBuckets',
      'timeGapBucketsSeconds',
      'version',
    ]);
    expect(Object.keys(recorded.files)).not.toContain('parity');
    expect(Object.keys(recorded.scorer!).sort()).toEqual([
      'categoryWeight',
      'coldItems',
      'cooccurrence',
      'excludeHistory',
      'markov',
      'markovItems',
      'transitions',
    ]);
  });

  it('refuses a manifest of the wrong shape, naming the field', () => {
    const bad = { ...shipped('beauty'), dim: '64' };
    expect(() => parseManifest(bad)).toThrow(/"dim"/);
    const cooc = shipped('beauty');
    (cooc.scorer as Record<string, any>).cooccurrence.decay = 1.5;
    expect(() => parseManifest(cooc)).toThrow(/"decay"/);
  });
});
