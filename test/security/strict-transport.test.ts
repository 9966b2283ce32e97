// The transport reads a body one way only: JSON in UTF-8, each name once per object. The hostile
// review had `charset=utf-16` accepted (and the body read as UTF-8), and `{"query": A, "query":
// B}` run B. Both are refused before GraphQL runs, so nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { firstDuplicateKey } from '../../src/security/duplicate-keys.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('firstDuplicateKey', () => {
  it.each([
    ['{"query": 1, "query": 2}', 'query'],
    ['{"query": 1, "\\u0071uery": 2}', 'query'],
    ['{"a": {"b": 1, "c": {"b": 2}, "b": 3}}', 'b'],
    ['[{"x": 1}, {"x": 1, "y": [{"z": 1, "z": 2}]}]', 'z'],
    ['{"a\\"b": 1, "a\\"b": 2}', 'a"b'],
    ['{"s": "{\\"k\\": 1, \\"k\\": 2}", "k": 1, "k": 2}', 'k'],
  ])('finds the repeated name in %s', (text, name) => {
    JSON.parse(text);
    expect(firstDuplicateKey(text)).toBe(name);
  });

  it.each([
    '{"query": "{ a }", "variables": {"query": 1}}',
    '[{"a": 1}, {"a": 1}]',
    '{"s": "{\\"k\\": 1, \\"k\\": 2}"}',
    '{"a\\\\": 1, "a": 2}',
    '{}',
    '[]',
    '"text"',
    '{"a": [], "b": {}, "c": [[{}], {"a": 1}]}',
  ])('finds none in %s', (text) => {
    JSON.parse(text);
    expect(firstDuplicateKey(text)).toBeNull();
  });

  it('scans a body 100,000 levels deep', () => {
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    expect(firstDuplicateKey(deep)).toBeNull();
  });
});

const MUTATION = `mutation { upsertItem(input: {id: "shop:written"}) { id } }`;

describe.each(backends)('a strict JSON transport on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const written = async () =>
    Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM items`)).rows[0]!.n);
  const post = async (body: Uint8Array<ArrayBuffer> | string, contentType: string) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? new Uint8Array(Buffer.from(body)) : body,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it.each(['utf-16', 'UTF-16LE', 'latin1', 'iso-8859-1', '"utf-16"', ''])(
    'refuses charset=%s with 415 UNSUPPORTED_MEDIA_TYPE',
    async (charset) => {
      const text = JSON.stringify({ query: MUTATION });
      for (const body of [Buffer.from(text, 'utf16le'), Buffer.from(text)]) {
        const res = await post(new Uint8Array(body), `application/json; charset=${charset}`);
        expect(res.status).toBe(415);
        expect(res.body.errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }
      expect(await written()).toBe(0);
    },
  );

  it.each(['utf-8', 'UTF-8', 'utf8', '"utf-8"'])('accepts charset=%s', async (charset) => {
    const res = await post(
      '{"query": "{ about { version } }"}',
      `application/json;charset=${charset}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.data.about.version).toMatch(/\d/);
  });

  it('refuses a body naming "query" twice with 400 INVALID_JSON, running neither', async () => {
    for (const body of [
      `{"query": ${JSON.stringify(MUTATION)}, "query": "{ about { version } }"}`,
      `{"query": "{ about { version } }", "query": ${JSON.stringify(MUTATION)}}`,
      `{"query": "{ about { version } }", "\\u0071uery": ${JSON.stringify(MUTATION)}}`,
      `{"query": ${JSON.stringify(MUTATION)}, "variables": {"a": 1, "a": 2}}`,
      `[{"query": ${JSON.stringify(MUTATION)}}, {"query": "{ about { version } }", "operationName": null, "operationName": "x"}]`,
    ]) {
      const res = await post(body, 'application/json');
      expect(res.status, body).toBe(400);
      expect(res.body.errors[0].extensions.code).toBe('INVALID_JSON');
      expect(res.body.errors[0].message).toMatch(/twice/);
    }
    expect(await written()).toBe(0);
  });
});
