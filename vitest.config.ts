// Tests drive the real thing (HTTP, PGlite, PostgreSQL); see test/helpers/backends.ts for how
// the PostgreSQL suites are enabled (TEST_DATABASE_URL; required under CI=true).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
