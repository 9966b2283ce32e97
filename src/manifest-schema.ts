// `npm run manifest:schema`: writes the model manifest's JSON Schema (src/inference/manifest.ts)
// to models/manifest.schema.json, which the trainer's export validates model.json against and
// test/inference/manifest.test.ts checks is current.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { manifestJsonSchema } from './inference/manifest.js';

export const MANIFEST_JSON_SCHEMA = path.resolve(
  path.dirname(import.meta.filename),
  '..',
  'models',
  'manifest.schema.json',
);

/** The file's text as this command writes it. */
export function printedManifestJsonSchema(): string {
  return JSON.stringify(manifestJsonSchema(), null, 2) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  writeFileSync(MANIFEST_JSON_SCHEMA, printedManifestJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), MANIFEST_JSON_SCHEMA)}`);
}
