// graphql-js gives up reading variables after 50 errors, with one more error of no code: the
// fuzz suite found it answered as INTERNAL_SERVER_ERROR inside a 400. It is a BAD_USER_INPUT
// about the request's variables, like the 50 before it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe.each(backends)('a request with over 50 invalid variable values on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('answers 400 with every error a BAD_USER_INPUT naming its field', async () => {
    const events = Array.from({ length: 60 }, () => ({ clientEventId: 1.5, type: 7 }));
    const res = await server.gql(
      `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`,
      { events },
    );
    expect(res.status).toBe(400);
    expect(res.errors!.length).toBe(51);
    for (const e of res.errors!) {
      expect(e.extensions?.code).toBe('BAD_USER_INPUT');
      expect(e.extensions?.field).toEqual(expect.any(String));
    }
    expect(res.errors![50]).toMatchObject({
      message: expect.stringMatching(/^Too many errors processing variables/),
      extensions: { code: 'BAD_USER_INPUT', field: 'variables' },
    });
  });
});
