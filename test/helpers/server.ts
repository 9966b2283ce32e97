// Starts the real gateway (buildServer) on an ephemeral port over a given database, and sends
// GraphQL over HTTP to it.
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/client.js';
import { buildServer, type ServerDeps } from '../../src/server.js';

export interface GqlResponse<D = any> {
  status: number;
  data?: D;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; field?: string } }[];
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  /** POSTs an operation; `headers` add to the JSON content type (e.g. an Authorization). */
  gql<D = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GqlResponse<D>>;
  /** Runs `fn` and returns how many SQL statements it caused. */
  countStatements(fn: () => Promise<unknown>): Promise<number>;
  close(): Promise<void>;
}

export async function startServer(
  db: Db,
  env: Record<string, string> = {},
  deps: Partial<Omit<ServerDeps, 'config' | 'db'>> = {},
): Promise<TestServer> {
  const config = loadConfig({ LOG_LEVEL: 'silent', AUTO_IMPORT: 'false', ...env });
  const app = await buildServer({ config, db, logger: false, ...deps });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `${address}/graphql`;
  return {
    url,
    app,
    async gql<D>(
      query: string,
      variables?: Record<string, unknown>,
      headers: Record<string, string> = {},
    ): Promise<GqlResponse<D>> {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as GqlResponse<D>;
      return { ...body, status: res.status };
    },
    async countStatements(fn) {
      let n = 0;
      const off = db.onQuery(() => n++);
      try {
        await fn();
      } finally {
        off();
      }
      return n;
    },
    close: () => app.close(),
  };
}
