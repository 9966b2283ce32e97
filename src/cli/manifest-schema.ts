// `npm run manifest:schema`: writes the model manifest's JSON Schema (src/inference/manifest.ts)
// to models/manifest.schema.json, which the trainer's export validates model.json against and
// test/inference/manifest.test.ts checks is current.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_JSON_SCHEMA, printedManifestJsonSchema } from '../inference/manifest.js';
import { runCommand } from './run.js';

async function main() {
  await writeFile(MANIFEST_JSON_SCHEMA, printedManifestJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), MANIFEST_JSON_SCHEMA)}`);
}

runCommand({ usage: 'usage: npm run manifest:schema', options: {}, main });
