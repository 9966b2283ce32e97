// The HTTP front: GraphQL responses are never cached by clients or proxies (every forecast is
// a new, stored one); CORS only for the configured storefront origins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('GraphQL over HTTP', () => {
  let db: Db;
  let server: TestServer;
  beforeAll(async () => {
    db = await openPglite(undefined);
    await migrate(db, { EMBEDDING_DIM: 64 }); // the API key check reads api_keys
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it('answers with cache-control: no-store, errors included', async () => {
    for (const query of ['{ __typename }', '{ noSuchField }']) {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      expect(res.headers.get('cache-control'), query).toBe('no-store');
    }
  });

  it('answers introspection unless GRAPHQL_INTROSPECTION=false, whatever NODE_ENV says', async () => {
    const query = '{ __schema { queryType { name } } }';
    const on = await server.gql<{ __schema: { queryType: { name: string } } }>(query);
    expect(on.data?.__schema.queryType.name).toBe('Query');
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production'; // Apollo's default would turn it off here
    const prod = await startServer(db);
    const off = await startServer(db, { GRAPHQL_INTROSPECTION: 'false' });
    try {
      expect((await prod.gql(query)).errors).toBeUndefined();
      const refused = await off.gql(query);
      expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
    } finally {
      process.env.NODE_ENV = before;
      await prod.close();
      await off.close();
    }
  });

  it('answers CORS preflights and requests for the listed storefront origins only', async () => {
    const shop = 'https://shop.example';
    const listed = await startServer(db, { CORS_ORIGINS: `${shop}, http://localhost:3000` });
    try {
      const preflight = (url: string, origin: string) =>
        fetch(url, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type',
          },
        });
      const ok = await preflight(listed.url, shop);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe(shop);
      expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
      expect(ok.headers.get('access-control-allow-headers')).toContain('content-type');
      const post = await fetch(listed.url, {
        method: 'POST',
        headers: { origin: shop, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(post.headers.get('access-control-allow-origin')).toBe(shop);
      expect(post.headers.get('vary')).toMatch(/origin/i);
      // another origin, and the default configuration: no CORS headers at all
      const other = await preflight(listed.url, 'https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const closed = await preflight(server.url, shop);
      expect(closed.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await listed.close();
    }
    for (const bad of ['*', 'shop.example', 'https://shop.example/path'])
      await expect(startServer(db, { CORS_ORIGINS: bad })).rejects.toThrow(/CORS_ORIGINS/);
  });

  it('serves the explorer and its assets from this installation, no CDN', async () => {
    const base = server.url.replace(/\/graphql$/, '');
    const html = await fetch(`${base}/explorer`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await html.text();
    expect(text).not.toMatch(/https?:\/\//); // nothing from another host
    expect(text).toContain('query ForecastForUser'); // the examples, preloaded
    for (const [name, type] of [
      ['react.js', 'text/javascript'],
      ['react-dom.js', 'text/javascript'],
      ['graphiql.js', 'text/javascript'],
      ['graphiql.css', 'text/css'],
    ]) {
      expect(text).toContain(`/explorer/assets/${name}`);
      const res = await fetch(`${base}/explorer/assets/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
    expect((await fetch(`${base}/explorer/assets/..%2Fpackage.json`)).status).toBe(404);
  });
});
