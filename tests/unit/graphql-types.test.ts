// GraphQL documents are typed from schema.graphql by gql.tada through a
// generated file per project: web-demo/src/graphql-env.d.ts for the storefront
// and tests/support/graphql-env.d.ts for the test helpers. Neither may drift:
// regenerate each and compare. The storefront's operations run only in the
// browser tests, so they are also validated against the schema (gql.tada
// check) and the demo type-checked (tsc) here; the tests' own operations fail
// the tests that send them, and `npm run typecheck` checks them too.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
const exec = promisify(execFile);
const tmp = mkdtempSync(path.join(tmpdir(), "stockwire-gql-tada-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it.each([
  ["web-demo/src/graphql-env.d.ts", "npm run demo:types", "web-demo/tsconfig.json"],
  ["tests/support/graphql-env.d.ts", "npm run test:types", "tests/tsconfig.json"],
])("%s matches schema.graphql (else: %s)", async (output, regenerate, tsconfig) => {
  const fresh = path.join(tmp, output.replaceAll("/", "_"));
  await exec(bin("gql.tada"), ["generate-output", "-c", tsconfig, "-o", fresh], { cwd: root });
  const committed = readFileSync(path.join(root, output), "utf8");
  expect(committed === readFileSync(fresh, "utf8"), `${output} is stale: run ${regenerate}`).toBe(true);
});

it("every operation in web-demo is valid against the schema, and the demo type-checks", async () => {
  const run = (cmd: string, args: string[]) =>
    exec(bin(cmd), args, { cwd: root }).catch((err) => err as { stdout: string; stderr: string; code: number });
  const [check, tsc] = await Promise.all([run("gql.tada", ["check", "-c", "web-demo/tsconfig.json"]), run("tsc", ["-p", "web-demo"])]);
  expect("code" in check ? `${check.stdout}${check.stderr}` : "ok").toBe("ok");
  expect("code" in tsc ? `${tsc.stdout}${tsc.stderr}` : "ok").toBe("ok");
});
