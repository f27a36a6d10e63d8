import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

/**
 * Files whose assertions are about the server's own event loop (fuzz-shapes: no request may hold it):
 * they run after the rest, one at a time, so a loop held by the other 120 files' servers on the same
 * two cores is not mistaken for one held by the request under test.
 */
const ALONE = ["tests/api/fuzz-shapes.test.ts"];

export default defineConfig({
  // One graphql instance: Vite would otherwise load graphql's ESM build for our
  // sources while Pothos and Yoga (externalised) load its CJS build.
  resolve: { alias: { graphql: require.resolve("graphql") } },
  test: {
    // Real PostgreSQL, Redis and Kafka for the whole run (see infra/services).
    globalSetup: ["tests/setup/global-setup.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    projects: [
      {
        extends: true,
        // Files run in parallel in child processes; each gets its own database.
        test: { name: "suite", include: ["tests/**/*.test.ts"], exclude: ALONE, fileParallelism: true, maxWorkers: 3 },
      },
      {
        extends: true,
        test: { name: "alone", include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
