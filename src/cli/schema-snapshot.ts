// `npm run schema:snapshot`: writes the schema as it is now to schema/snapshot/schema.graphql,
// the contract that test/schema-snapshot.test.ts checks changes against (breaking changes, as
// graphql's findBreakingChanges reports them, need this explicit update).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printedSchema, SNAPSHOT } from '../server.js';
import { runCommand } from './run.js';

async function main() {
  await writeFile(SNAPSHOT, printedSchema());
  console.log(`wrote ${path.relative(process.cwd(), SNAPSHOT)}`);
}

runCommand({ usage: 'usage: npm run schema:snapshot', options: {}, main });
