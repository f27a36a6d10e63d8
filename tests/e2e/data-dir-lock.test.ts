// Finding 7 of issue 11: two servers on one embedded data folder lost writes
// silently. The second now refuses to start with one line naming the folder,
// before writing anything; a lock left by a dead process does not block.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirInUseError, lockDataDir } from "../../src/db/data-dir-lock.js";
import { exitOf, runMain, startServer } from "../support/process.js";

const root = mkdtempSync(path.join(tmpdir(), "stockwire-lock-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The PID of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

describe("lockDataDir", () => {
  it("holds the folder with this process's PID until released", () => {
    const dir = path.join(root, "unit", "pglite");
    const lock = lockDataDir(dir);
    expect(readFileSync(lock.file, "utf8").trim()).toBe(String(process.pid));
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    expect(() => lockDataDir(dir)).toThrow(
      `the embedded database folder ${dir} is in use by another Stockwire process (PID ${process.pid}`,
    );
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
    lockDataDir(dir).release();
  });

  it("takes over a stale lock whose process is gone", () => {
    const dir = path.join(root, "stale", "pglite");
    const file = `${dir}.lock`;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${deadPid()}\n`);
    const lock = lockDataDir(dir);
    expect(lock.file).toBe(file);
    expect(readFileSync(file, "utf8").trim()).toBe(String(process.pid));
    lock.release();
  });
});

describe("two servers on one STOCKWIRE_DATA_DIR", () => {
  it("the second refuses with one line naming the folder and writes nothing; the first keeps working", { timeout: 180_000 }, async () => {
    const dataDir = path.join(root, "e2e");
    const first = await startServer({ STOCKWIRE_DATA_DIR: dataDir });
    try {
      const pgliteDir = path.join(dataDir, "pglite");
      const before = readFileSync(path.join(pgliteDir, "PG_VERSION"), "utf8");
      const second = runMain({ STOCKWIRE_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1" });
      // Without the lock it would start and serve: stop it then, so the test fails instead of hanging.
      const started = setTimeout(() => second.kill("SIGKILL"), 60_000);
      const { code, output } = await exitOf(second).finally(() => clearTimeout(started));
      expect(code).toBe(1);
      expect(output.trim().split("\n")).toEqual([
        expect.stringMatching(
          new RegExp(
            `^stockwire: failed to start: the embedded database folder ${pgliteDir} is in use by another Stockwire process \\(PID \\d+`,
          ),
        ),
      ]);
      expect(readFileSync(path.join(pgliteDir, "PG_VERSION"), "utf8")).toBe(before);
      const res = await fetch(`${first.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ products(first: 1) { edges { node { id } } } }" }),
      });
      expect(((await res.json()) as any).data.products.edges).toHaveLength(1);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    // Stopped cleanly: the lock is gone.
    expect(existsSync(path.join(dataDir, "pglite.lock"))).toBe(false);
  });
});
