import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A private PostgreSQL and MariaDB for the tests that need them (test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most tests wait on child processes and databases rather than compute: four workers on
    // two cores run the suite in about half the time of two, with the same results.
    maxWorkers: 4,
  },
});
