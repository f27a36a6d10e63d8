// Finding 9 of issue 11: the command-line helpers print usage for --help and
// exit 0, and refuse bad arguments with one line (no stack) and exit 1.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { encodeGlobalId } from "../../src/ids/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.JWT_SECRET;
  const child = spawn(tsx, [script, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

const noStack = (text: string) => expect(text).not.toMatch(/\bat .*[(:]\d|node:internal|Error:/);
const customerId = encodeGlobalId("Customer", "3f1f9b1e-8d8a-4c5e-9a53-0a3b1d2c4e5f");

describe("npm run token", () => {
  it.each([["--help"], ["-h"]])("%s prints usage and exits 0", async (flag) => {
    const r = await run("scripts/token.ts", [flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run token -- --role admin/);
    expect(r.stderr).toBe("");
  });

  it.each([
    ["an unknown option", ["--bogus"], /token: Unknown option '--bogus'/],
    ["a --sub that is not an ID", ["--role", "customer", "--sub", "42"], /--sub must be a Customer ID/],
    [
      "a --sub of another type",
      ["--role", "customer", "--sub", encodeGlobalId("Product", "3f1f9b1e-8d8a-4c5e-9a53-0a3b1d2c4e5f")],
      /--sub must be a Customer ID/,
    ],
    ["an admin --sub that is not a Customer ID", ["--role", "admin", "--sub", "nope"], /--sub must be a Customer ID/],
    ["a customer without --sub", ["--role", "customer"], /needs --sub/],
    [
      "no options at all, pointing at the start-up line",
      [],
      /needs --sub <Customer ID>: in demo mode the server prints the demo customer's command/,
    ],
    ["a bad --expires", ["--role", "admin", "--expires", "soon"], /--expires must be a time span/],
  ])("refuses %s with one line and exit 1", async (_what, args, message) => {
    const r = await run("scripts/token.ts", args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    noStack(r.stderr);
  });

  it("signs a customer token for a Customer ID", async () => {
    const r = await run("scripts/token.ts", ["--role", "customer", "--sub", customerId]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe("npm run db:migration", () => {
  it("--help prints usage and exits 0", async () => {
    const r = await run("scripts/db-migration.ts", ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run db:migration -- <name>/);
  });

  it("an unknown option is refused with one line and exit 1, creating nothing", async () => {
    const r = await run("scripts/db-migration.ts", ["--bogus"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    noStack(r.stderr);
  });
});
