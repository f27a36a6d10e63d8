import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  // One graphql instance: Vite would otherwise load graphql's ESM build for our
  // sources while Pothos and Yoga (externalised) load its CJS build.
  resolve: { alias: { graphql: require.resolve("graphql") } },
  test: {
    include: ["tests/**/*.test.ts"],
    // Real PostgreSQL, Redis and Kafka for the whole run (see infra/services).
    globalSetup: ["tests/setup/global-setup.ts"],
    // Files run in parallel in child processes; each gets its own database.
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
