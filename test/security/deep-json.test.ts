// JSON arguments nested deep or grown large (upsertItem.attributes, upsertUser.profile): the
// hostile review's 5,000-deep variable overflowed the stack of the NUL check (HTTP 500) and a
// 3,000-deep one was stored. Both are refused as BAD_USER_INPUT naming the argument, before
// anything runs, and the checks that walk a value do it without recursion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import type { Db } from '../../src/db/client.js';
import { findNul } from '../../src/security/limits.js';
const MAX_JSON_DEPTH = 16,
  MAX_JSON_LENGTH = 32768;
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** `{"a": {"a": … {"leaf": leaf} … }}` with `depth` objects, built without recursion. */
function nested(depth: number, leaf: unknown = 1): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf };
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

/** The same as JSON text (JSON.stringify recurses, and a few thousand levels overflow it). */
const nestedText = (depth: number) =>
  '{"a":'.repeat(depth - 1) + '{"leaf":1}' + '}'.repeat(depth - 1);

const UPSERT_ITEM = `mutation($input: ItemInput!) { upsertItem(input: $input) { id } }`;
const UPSERT_USER = `mutation($input: UserInput!) { upsertUser(input: $input) { id } }`;

describe('findNul', () => {
  it('walks a value 200,000 levels deep without recursion, and finds a NUL at its bottom', () => {
    const doc = parse('{ about { version } }');
    expect(findNul(doc, { v: nested(200_000) })).toBeNull();
    const hit = findNul(doc, { v: nested(200_000, 'x\0y') });
    expect(hit).toMatch(/^v\.a\.a\.a/);
    expect(hit!.length).toBeLessThanOrEqual(240); // the path is shortened for the message
    expect(hit!.endsWith('.leaf')).toBe(true);
  });

  it('walks a list 200,000 levels deep', () => {
    let v: unknown = ['\0'];
    for (let i = 0; i < 200_000; i++) v = [v];
    expect(findNul(parse('{ about { version } }'), { v })).toMatch(/^v\[0\]\[0\]/);
  });
});

describe.each(backends)('deep and large JSON arguments on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  /** POSTs `query` with the variable `input` = `{"id": id, <key>: <jsonText>}`, as text. */
  const sendRaw = async (query: string, id: string, key: string, jsonText: string) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"query": ${JSON.stringify(query)}, "variables": {"input": {"id": ${JSON.stringify(id)}, "${key}": ${jsonText}}}}`,
    });
    return { status: res.status, ...((await res.json()) as { errors?: any[] }) };
  };
  const count = async (table: string) =>
    Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it.each([5_000, 3_000, MAX_JSON_DEPTH + 1])(
    'refuses upsertItem.attributes nested %i deep with 400 BAD_USER_INPUT',
    async (depth) => {
      const res = await sendRaw(UPSERT_ITEM, 'shop:deep', 'attributes', nestedText(depth));
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.attributes',
      });
      expect(res.errors?.[0]?.message).toMatch(/deeper than/);
      expect(await count('items')).toBe(0);
    },
  );

  it.each([5_000, 3_000])(
    'refuses upsertUser.profile nested %i deep with 400 BAD_USER_INPUT',
    async (depth) => {
      const res = await sendRaw(UPSERT_USER, 'shop:u-deep', 'profile', nestedText(depth));
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.profile',
      });
      expect(await count('users')).toBe(0);
    },
  );

  it('refuses a deep JSON literal in the document as a validation error', async () => {
    let literal = '1';
    for (let i = 0; i < 40; i++) literal = `{a: ${literal}}`;
    const res = await server.gql(
      `mutation { upsertItem(input: {id: "shop:lit", attributes: ${literal}}) { id } }`,
    );
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/deeper than/);
    expect(await count('items')).toBe(0);
  });

  it('refuses attributes longer than MAX_JSON_LENGTH as JSON, and stores one at the limits', async () => {
    const big = { text: 'x'.repeat(MAX_JSON_LENGTH) };
    const refused = await server.gql(UPSERT_ITEM, { input: { id: 'shop:big', attributes: big } });
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.attributes',
    });
    expect(await count('items')).toBe(0);

    const fits = { text: 'x'.repeat(MAX_JSON_LENGTH - 20) };
    const deepest = nested(MAX_JSON_DEPTH);
    for (const [id, attributes] of [
      ['shop:fits', fits],
      ['shop:deepest', deepest],
    ] as const) {
      const ok = await server.gql(UPSERT_ITEM, { input: { id, attributes } });
      expect(ok.errors).toBeUndefined();
      expect(ok.data.upsertItem.id).toBe(id);
    }
    const stored = await db.query<{ attributes: unknown }>(
      `SELECT attributes FROM items WHERE id = 'shop:deepest'`,
    );
    expect(stored.rows[0]!.attributes).toEqual(deepest);
  });
});
