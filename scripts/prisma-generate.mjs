// Generates the Prisma client (src/generated/prisma, git-ignored) from
// prisma/schema.prisma. `prisma generate` needs no native engine, but the CLI
// still tries to download one unless PRISMA_SCHEMA_ENGINE_BINARY names an
// existing file; machines without Prisma's download host would fail there.
// Skips the work when the generated client is newer than the schema.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const schema = `${root}prisma/schema.prisma`;
const marker = `${root}src/generated/prisma/client.ts`;
if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(schema).mtimeMs && !process.argv.includes("--force")) {
  process.exit(0);
}
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
const res = spawnSync(process.execPath, [`${root}node_modules/prisma/build/index.js`, "generate"], {
  cwd: root,
  env,
  stdio: ["ignore", "ignore", "inherit"],
});
process.exit(res.status ?? 1);
