// Access control and operation limits over real HTTP, on both back-ends: the default AUTH=auto
// (open on loopback until a key exists), keys with scopes (UNAUTHENTICATED / FORBIDDEN, and
// nothing written), revocation, hashed storage, AUTH=required and a non-loopback HOST, the
// depth / alias / cost / batch limits, and the persisted-operation allow-list.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { print, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createApiKey } from '../../src/security/keys.js';
import { AllowList, normalizeDocument } from '../../src/security/allow-list.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`;
const UPSERT_ITEM = `mutation { upsertItem(input: { id: "shop:9", title: "New" }) { id } }`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const event = (n: number) => ({
  clientEventId: `auth-${n}`,
  type: 'VIEW',
  userId: 'shop:u1',
  sessionId: 'shop:s1',
  itemId: 'shop:1',
  occurredAt: '2026-01-05T10:00:00Z',
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe.each(backends)('access control on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const count = async (table: string) =>
    Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await db.query(`INSERT INTO items (id, dataset, title) VALUES ('shop:1', 'shop', 'One')`);
    server = await startServer(db, { API_KEY_CACHE_MS: '0' });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('is open on loopback until a key exists, then requires one', async () => {
    const open = await server.gql(RECORD, { events: [event(1)] });
    expect(open.errors).toBeUndefined();
    expect(open.data.recordEvents.accepted).toBe(1);

    // The first key made over the open loopback API (as docs/security.md says)
    const created = await server.gql(
      `mutation { createApiKey(input: { name: "ops", scopes: [ADMIN] }) { token key { id scopes } } }`,
    );
    expect(created.errors).toBeUndefined();
    const { token, key } = created.data.createApiKey;
    expect(token).toMatch(/^fsk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key.scopes).toEqual(['ADMIN']);

    const anonymous = await post(server.url, { query: '{ about { version } }' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const admin = await server.gql('{ apiKeys { id name } }', undefined, bearer(token));
    expect(admin.data.apiKeys).toEqual([{ id: key.id, name: 'ops' }]);
    // Also as X-API-Key
    const viaHeader = await post(
      server.url,
      { query: '{ about { version } }' },
      { 'x-api-key': token },
    );
    expect(viaHeader.status).toBe(200);
    // GET with the parameter names percent-encoded, as Apollo decodes them, needs a key too
    for (const qs of [
      `?query=${encodeURIComponent('{ apiKeys { id } }')}`,
      `?%71uery=${encodeURIComponent('{ apiKeys { id } }')}`,
      `?%65xtensions=${encodeURIComponent('{"persistedQuery":{"version":1,"sha256Hash":"00"}}')}`,
    ]) {
      const res = await fetch(server.url + qs, { headers: { 'apollo-require-preflight': 'true' } });
      expect(res.status, qs).toBe(401);
      expect(((await res.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('stores only a hash of the secret', async () => {
    const { token } = await createApiKey(db, { name: 'hash-check', scopes: ['read'] });
    const secret = token.slice('fsk_'.length + 12 + 1);
    const { rows } = await db.query<{ row: string }>(`SELECT t::text AS row FROM api_keys t`);
    expect(rows.some((r) => r.row.includes(secret) || r.row.includes(token))).toBe(false);
    const hex = createHash('sha256').update(secret).digest('hex');
    expect(rows.some((r) => r.row.includes(hex))).toBe(true);
  });

  it('refuses what a key lacks the scope for, writing nothing', async () => {
    const read = (await createApiKey(db, { name: 'reader', scopes: ['read'] })).token;
    const events = (await createApiKey(db, { name: 'web', scopes: ['read', 'write:events'] }))
      .token;
    const catalog = (await createApiKey(db, { name: 'pim', scopes: ['write:catalog'] })).token;
    const before = { events: await count('events'), items: await count('items') };

    const denied = await post(
      server.url,
      { query: RECORD, variables: { events: [event(2)] } },
      bearer(read),
    );
    expect(denied.status).toBe(403);
    expect(denied.body.errors[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      scope: 'write:events',
    });
    expect(denied.body.data).toBeUndefined();
    const item = await post(server.url, { query: UPSERT_ITEM }, bearer(events));
    expect(item.body.errors[0].extensions.code).toBe('FORBIDDEN');
    // Root fields reached through a fragment or an inline fragment are checked as well
    for (const query of [
      `mutation($events: [EventInput!]!) { ...W } fragment W on Mutation { recordEvents(events: $events) { accepted } }`,
      `mutation($events: [EventInput!]!) { ... on Mutation { recordEvents(events: $events) { accepted } } }`,
      `query { ...K } fragment K on Query { apiKeys { id } }`,
    ]) {
      const sneaky = await post(
        server.url,
        { query, variables: { events: [event(2)] } },
        bearer(read),
      );
      expect(sneaky.status, query).toBe(403);
      expect(sneaky.body.errors[0].extensions.code, query).toBe('FORBIDDEN');
    }
    // A catalogue key cannot read, nor list keys
    const reads = await post(server.url, { query: '{ about { version } }' }, bearer(catalog));
    expect(reads.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'read' });
    const keys = await post(server.url, { query: '{ apiKeys { id } }' }, bearer(events));
    expect(keys.body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'admin' });
    expect({ events: await count('events'), items: await count('items') }).toEqual(before);

    const allowed = await server.gql(RECORD, { events: [event(3)] }, bearer(events));
    expect(allowed.data.recordEvents.accepted).toBe(1);
    const upsert = await server.gql(UPSERT_ITEM, undefined, bearer(catalog));
    expect(upsert.data.upsertItem.id).toBe('shop:9');
  });

  it('refuses a revoked, unknown or malformed key', async () => {
    const { key, token } = await createApiKey(db, { name: 'temp', scopes: ['read'] });
    expect((await server.gql('{ about { version } }', undefined, bearer(token))).status).toBe(200);
    const admin = (await createApiKey(db, { name: 'admin2', scopes: ['admin'] })).token;
    const revoked = await server.gql(
      `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`,
      { id: key.id },
      bearer(admin),
    );
    expect(revoked.data.revokeApiKey.revokedAt).not.toBeNull();
    for (const headers of [
      bearer(token),
      bearer(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')),
      bearer('fsk_000000000000_' + 'x'.repeat(43)),
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: `Bearer ${token} extra` },
    ]) {
      const res = await post(server.url, { query: '{ about { version } }' }, headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    const unknown = await server.gql(
      `mutation { revokeApiKey(id: "ffffffffffff") { id } }`,
      undefined,
      bearer(admin),
    );
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe.each(backends)('keys required without any key on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await dispose?.();
  });

  it.each([
    ['AUTH=required', { AUTH: 'required' }],
    ['a HOST beyond loopback', { HOST: '0.0.0.0' }],
  ])('with %s', async (_, env) => {
    const server = await startServer(db, env);
    servers.push(server);
    const res = await post(server.url, { query: '{ about { version } }' });
    expect(res.status).toBe(401);
    expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe.each(backends)('operation limits on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db, {
      MAX_QUERY_DEPTH: '4',
      MAX_ALIASES: '3',
      MAX_QUERY_COST: '500',
      MAX_BATCH: '2',
    });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  const refusal = async (body: unknown) => {
    const res = await post(server.url, body);
    return { status: res.status, ext: res.body.errors?.[0]?.extensions, data: res.body.data };
  };

  it('refuses a deep query with QUERY_TOO_DEEP', async () => {
    const deep =
      '{ users(first: 1) { edges { node { sessions(first: 1) { edges { node { id } } } } } } }';
    expect(await refusal({ query: deep })).toMatchObject({
      status: 400,
      ext: { code: 'QUERY_TOO_DEEP', limit: 4 },
    });
    // Depth through a fragment counts as well
    const viaFragment = `{ users(first: 1) { edges { ...E } } } fragment E on UserEdge { node { sessions(first: 1) { edges { node { id } } } } }`;
    expect((await refusal({ query: viaFragment })).ext.code).toBe('QUERY_TOO_DEEP');
    expect(
      (await refusal({ query: '{ users(first: 1) { edges { node { id } } } }' })).ext,
    ).toBeUndefined();
  });

  it('walks a fragment spread twice at one level once (no exponential blow-up)', async () => {
    // 40 levels of { ...F(n+1) ...F(n+1) }: 2^40 paths if each spread were walked again
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, n) =>
      n === levels - 1
        ? `fragment F${n} on Query { __typename }`
        : `fragment F${n} on Query { ...F${n + 1} ...F${n + 1} }`,
    );
    const res = await post(server.url, { query: `query { ...F0 } ${fragments.join(' ')}` });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ __typename: 'Query' });
  });

  it('counts introspection and id lists in the cost', async () => {
    expect((await refusal({ query: '{ __schema { queryType { name } } }' })).ext).toMatchObject({
      code: 'QUERY_TOO_COSTLY',
    });
    const ids = Array.from({ length: 100 }, (_, k) => `x:${k}`);
    const q = `query($ids: [ID!]!) { itemsByIds(ids: $ids) { id title brand price inStock } }`;
    expect((await refusal({ query: q, variables: { ids } })).ext).toMatchObject({
      code: 'QUERY_TOO_COSTLY',
    });
    expect((await refusal({ query: q, variables: { ids: ids.slice(0, 5) } })).ext).toBeUndefined();
  });

  it('answers a Host header no URL can be built from with BAD_REQUEST', async () => {
    const { port } = new URL(server.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          headers: { host: '[', 'content-type': 'application/json' },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ query: '{ about { version } }' }));
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it('refuses too many aliases with TOO_MANY_ALIASES', async () => {
    const q = `{ a: about { version } b: about { version } c: about { version } d: about { version } }`;
    expect(await refusal({ query: q })).toMatchObject({
      status: 400,
      ext: { code: 'TOO_MANY_ALIASES' },
    });
  });

  it('counts list fields times their `first`, from literals and variables', async () => {
    const q = `query($n: Int) { users(first: $n) { edges { node { id profile } } } }`;
    // 1 + n × (edges + node + id + profile) = 1 + 4n
    expect((await refusal({ query: q, variables: { n: 200 } })).ext).toMatchObject({
      code: 'QUERY_TOO_COSTLY',
      limit: 500,
    });
    expect((await refusal({ query: q, variables: { n: 10 } })).ext).toBeUndefined();
  });

  it('limits batched requests with BATCH_TOO_LARGE', async () => {
    const op = { query: '{ about { version } }' };
    const ok = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([op, op]),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as unknown[]).length).toBe(2);
    expect(await refusal([op, op, op])).toMatchObject({
      status: 400,
      ext: { code: 'BATCH_TOO_LARGE', limit: 2 },
    });
  });

  it('the shipped example operations pass the default limits', async () => {
    const defaults = await startServer(db);
    try {
      const doc = parse(readFileSync('examples/queries.graphql', 'utf8'));
      for (const def of doc.definitions) {
        if (def.kind !== 'OperationDefinition' || !def.name) continue;
        const res = await post(defaults.url, { query: print(doc), operationName: def.name.value });
        const code = res.body.errors?.[0]?.extensions?.code;
        expect(
          ['QUERY_TOO_DEEP', 'QUERY_TOO_COSTLY', 'TOO_MANY_ALIASES'],
          def.name.value,
        ).not.toContain(code);
      }
    } finally {
      await defaults.close();
    }
  });
});

describe.each(backends)('operation allow-list on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  let reader: string;
  let admin: string;
  const file = 'examples/storefront/operations/item.graphql';
  const listed = readFileSync(file, 'utf8');

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await db.query(`INSERT INTO items (id, dataset, title) VALUES ('shop:1', 'shop', 'One')`);
    reader = (await createApiKey(db, { name: 'web', scopes: ['read'] })).token;
    admin = (await createApiKey(db, { name: 'ops', scopes: ['admin'] })).token;
    server = await startServer(db, { OPERATION_ALLOW_LIST: 'examples/storefront/operations' });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  const variables = { id: 'shop:1' };

  it('runs a listed operation whatever its whitespace and comments', async () => {
    const reformatted = '# the storefront\n' + listed.replace(/#.*\n/g, '').replace(/\s+/g, '  ');
    const res = await post(server.url, { query: reformatted, variables }, bearer(reader));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.item.id).toBe('shop:1');
  });

  it('runs a listed operation sent by its hash alone (persisted query)', async () => {
    const hash = createHash('sha256')
      .update(normalizeDocument(parse(listed)))
      .digest('hex');
    const persistedQuery = { version: 1, sha256Hash: hash };
    const res = await post(
      server.url,
      { extensions: { persistedQuery }, variables },
      bearer(reader),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.item.id).toBe('shop:1');
    // and by GET
    const qs = new URLSearchParams({
      extensions: JSON.stringify({ persistedQuery }),
      variables: JSON.stringify(variables),
    });
    const get = await fetch(`${server.url}?${qs}`, {
      headers: { ...bearer(reader), 'apollo-require-preflight': 'true' },
    });
    expect(((await get.json()) as any).data.item.id).toBe('shop:1');
  });

  it('refuses any other operation but for admin keys', async () => {
    const other = { query: '{ item(id: "shop:1") { id title price } }' };
    const res = await post(server.url, other, bearer(reader));
    expect(res.status).toBe(403);
    expect(res.body.errors[0].extensions.code).toBe('OPERATION_NOT_ALLOWED');
    const asAdmin = await post(server.url, other, bearer(admin));
    expect(asAdmin.body.data.item.id).toBe('shop:1');
    // An unlisted document cannot be registered as a persisted query either
    const hash = createHash('sha256').update(other.query).digest('hex');
    const reg = await post(
      server.url,
      { ...other, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      bearer(reader),
    );
    expect(reg.body.errors[0].extensions.code).toBe('OPERATION_NOT_ALLOWED');
    const again = await post(
      server.url,
      { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      bearer(reader),
    );
    expect(again.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe.each(backends)('persisted documents of the client preset on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  let reader: string;
  const manifestFile = 'examples/storefront/src/gql/persisted-documents.json';
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, string>;
  const itemDetails = Object.keys(manifest).find((k) =>
    manifest[k]!.startsWith('query ItemDetails'),
  )!;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await db.query(`INSERT INTO items (id, dataset, title) VALUES ('shop:1', 'shop', 'One')`);
    reader = (await createApiKey(db, { name: 'web', scopes: ['read'] })).token;
    // the storefront's generated manifest, registered as it is
    server = await startServer(db, { OPERATION_ALLOW_LIST: manifestFile });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('runs a document sent by its documentId, and by the same hash as a persisted query', async () => {
    const variables = { id: 'shop:1' };
    const byId = await post(server.url, { documentId: itemDetails, variables }, bearer(reader));
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data.item).toMatchObject({ id: 'shop:1', title: 'One' });
    const persistedQuery = { version: 1, sha256Hash: itemDetails.replace('sha256:', '') };
    const apq = await post(
      server.url,
      { extensions: { persistedQuery }, variables },
      bearer(reader),
    );
    expect(apq.body.errors).toBeUndefined();
    expect(apq.body.data.item.id).toBe('shop:1');
    // the text itself is listed too
    const text = await post(
      server.url,
      { query: manifest[itemDetails], variables },
      bearer(reader),
    );
    expect(text.body.data.item.id).toBe('shop:1');
  });

  it('refuses an unknown documentId and any document the manifest does not list', async () => {
    const unknown = await post(server.url, { documentId: 'sha256:0000' }, bearer(reader));
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].extensions).toMatchObject({
      code: 'PERSISTED_QUERY_NOT_FOUND',
      field: 'documentId',
    });
    const other = await post(
      server.url,
      { query: '{ item(id: "shop:1") { id price } }' },
      bearer(reader),
    );
    expect(other.body.errors[0].extensions.code).toBe('OPERATION_NOT_ALLOWED');
  });
});

describe('persisted-documents manifests in the allow-list', () => {
  it('refuses a manifest whose hash is not its document’s', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'foresight-manifest-'));
    const file = path.join(dir, 'persisted-documents.json');
    writeFileSync(file, JSON.stringify({ 'sha256:abc': '{ about { version } }' }));
    expect(() => AllowList.load([file])).toThrow(/"sha256:abc" is not the SHA-256 of its document/);
    await rm(dir, { recursive: true, force: true });
  });
});
