// The operations in examples/queries.graphql stay valid against the schema.
import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../src/server.js';

describe('examples/queries.graphql', () => {
  it('validates every operation against schema/', () => {
    const schema = buildSchema(loadTypeDefs());
    const doc = parse(readFileSync('examples/queries.graphql', 'utf8'));
    expect(doc.definitions.length).toBeGreaterThan(5);
    expect(validate(schema, doc).map((e) => e.message)).toEqual([]);
  });
});
