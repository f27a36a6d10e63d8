// The newcomer's first command: no environment, PGlite and in-process pub/sub.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { exitOf, runMain, startServer } from "../support/process.js";

// Named as the default (.data), so the printed path is the README's.
const scratch = mkdtempSync(path.join(tmpdir(), "stockwire-embedded-"));
const dataDir = path.join(scratch, ".data");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The README's sample start-up lines (Quick start), as patterns: "…" stands for any text, port 4000 for this run's. */
function readmeStartLines(port: string): RegExp[] {
  const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
  const block = /prints one line per component[\s\S]*?```\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error("README.md: no sample start-up output after 'prints one line per component'");
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll(":4000", `:${port}`);
  return block[1]!
    .trim()
    .split("\n")
    .map((line) => new RegExp(`^${line.split("…").map(escape).join(".*?")}$`));
}

async function query(url: string, q: string) {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: q }),
  });
  return (await res.json()) as any;
}

describe("embedded default", () => {
  // Two cold starts of PGlite (WASM compile, migrations, seed): slow on a busy 2-core machine.
  it("starts with no environment, seeds the demo catalogue, and keeps data across restarts", { timeout: 180_000 }, async () => {
    const first = await startServer({ STOCKWIRE_DATA_DIR: dataDir });
    let firstPage: unknown;
    try {
      // What a newcomer reads is what the first start prints, line for line.
      await expect.poll(() => first.output(), { timeout: 10_000 }).toMatch(/\(the demo customer\)/);
      const printed = first
        .output()
        .split("\n")
        .filter((l) => l.startsWith("stockwire: "));
      const sample = readmeStartLines(new URL(first.url).port);
      expect(printed.length, `printed:\n${printed.join("\n")}`).toBe(sample.length);
      printed.forEach((line, i) => expect(line).toMatch(sample[i]!));
      expect(first.output()).toMatch(/database\s+PGlite \(embedded\)/);
      expect(first.output()).toMatch(/pubsub\s+in-process/);
      expect(first.output()).toMatch(/stream\s+in-process/);
      expect(first.output()).toMatch(/seeded\s+\d+ demo products/);
      const body = await query(first.url, "{ products(first: 5) { edges { node { sku name stock } } } }");
      firstPage = body.data.products.edges;
      expect(body.data.products.edges).toHaveLength(5);
      expect(body.data.products.edges[0].node.sku).toMatch(/^SW-/);
      expect((await fetch(`${first.url}/health`)).status).toBe(200);
      const ready = await fetch(`${first.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", failing: [] });
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const second = await startServer({ STOCKWIRE_DATA_DIR: dataDir });
    try {
      expect(second.output()).toMatch(/schema up to date/);
      expect(second.output()).not.toMatch(/seeded/);
      const body = await query(second.url, "{ products(first: 5) { edges { node { sku name stock } } } }");
      expect(body.data.products.edges).toEqual(firstPage);
    } finally {
      await second.stop();
    }
  });

  it("refuses an invalid DATABASE_URL with one clear line and a non-zero exit", async () => {
    const { code, output } = await exitOf(runMain({ DATABASE_URL: "banana" }));
    expect(code).not.toBe(0);
    expect(output.trim()).toBe('stockwire: invalid DATABASE_URL: must be a URL like postgresql://user:pass@host:5432/db (got "banana")');
  });
});
