// The HTTP front: GraphQL responses are never cached by clients or proxies (every forecast is
// a new, stored one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/client.js';
import { openPglite } from '../src/db/pglite.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('GraphQL over HTTP', () => {
  let db: Db;
  let server: TestServer;
  beforeAll(async () => {
    db = await openPglite(undefined);
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
});
