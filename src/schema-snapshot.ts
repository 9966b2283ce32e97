// `npm run schema:snapshot`: writes the schema as it is now to schema/snapshot/schema.graphql,
// the contract that test/schema-snapshot.test.ts checks changes against (breaking changes, as
// graphql's findBreakingChanges reports them, need this explicit update).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { loadTypeDefs, SCHEMA_DIR } from './server.js';

export const SNAPSHOT = path.join(SCHEMA_DIR, 'snapshot', 'schema.graphql');

/** The schema of schema/*.graphql, printed in a stable order. */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(buildSchema(loadTypeDefs()))) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  writeFileSync(SNAPSHOT, printedSchema());
  console.log(`wrote ${path.relative(process.cwd(), SNAPSHOT)}`);
}
