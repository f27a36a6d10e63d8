// Builds the storefront demo into web-demo/dist when its inputs changed, like
// scripts/prisma-generate.mjs does for the Prisma client: `npm start` and
// `npm test` run it first, and it costs a few milliseconds when up to date.
// "Changed" means a different hash of web-demo's sources and the lockfile
// (stored in dist/.build-hash), so it works on fresh clones and across
// branches alike. Vite writes into a temp dir that then replaces dist whole.
//   node web-demo/scripts/build.mjs [--force]
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const demo = fileURLToPath(new URL("..", import.meta.url));
const root = path.dirname(demo);
const dist = path.join(demo, "dist");
const stamp = path.join(dist, ".build-hash");
const SKIP = new Set(["dist", "node_modules", "scripts"]);

/** Hash of every file that can change the build's output. */
export function inputsHash() {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith(".") || (dir === demo && SKIP.has(entry.name))) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(path.relative(demo, full)).update("\0").update(readFileSync(full)).update("\0");
    }
  };
  walk(demo);
  hash.update(readFileSync(path.join(root, "package-lock.json")));
  return hash.digest("hex");
}

export function isUpToDate(hash = inputsHash()) {
  return existsSync(stamp) && readFileSync(stamp, "utf8").trim() === hash;
}

/** Builds unless up to date (or forced); resolves with whether it built. */
export async function buildDemo({ force = false, log = console.log } = {}) {
  const hash = inputsHash();
  if (!force && isUpToDate(hash)) return false;
  const started = Date.now();
  const { build } = await import("vite");
  // In the git-ignored .cache/, on the same file system as dist, so the rename is atomic.
  const tmp = path.join(root, ".cache", `web-demo-dist-${process.pid}-${Date.now()}`);
  await mkdir(path.dirname(tmp), { recursive: true });
  try {
    await build({ configFile: path.join(demo, "vite.config.ts"), build: { outDir: tmp }, logLevel: "warn" });
    await writeFile(path.join(tmp, ".build-hash"), `${hash}\n`);
    await rm(dist, { recursive: true, force: true });
    await rename(tmp, dist);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  log(`web-demo: built into ${path.relative(process.cwd(), dist) || dist} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildDemo({ force: process.argv.includes("--force") });
  } catch (err) {
    console.error(`web-demo: build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
