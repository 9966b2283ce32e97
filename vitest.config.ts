// Tests drive the real thing (HTTP, PGlite, PostgreSQL); see test/helpers/backends.ts for how
// the PostgreSQL suites are enabled (TEST_DATABASE_URL; required under CI=true).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // One graphql instance: Vite would resolve the package's `module` build (index.mjs) for our
  // sources while Apollo Server, loaded by Node, gets its `main` (index.js). Two instances
  // break `instanceof GraphQLError`, and with it the codes of errors thrown in Apollo plugins.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
