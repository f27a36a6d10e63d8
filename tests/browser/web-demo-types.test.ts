// The storefront's GraphQL operations are typed from schema.graphql by
// gql.tada through a generated file, web-demo/src/graphql-env.d.ts. It must
// not drift: regenerate it and compare, then validate every operation against
// the schema (gql.tada check) and type-check the demo (tsc).
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

it("web-demo/src/graphql-env.d.ts matches schema.graphql (else: npm run demo:types)", async () => {
  const fresh = path.join(tmp, "graphql-env.d.ts");
  await exec(bin("gql.tada"), ["generate-output", "-c", "web-demo/tsconfig.json", "-o", fresh], { cwd: root });
  const committed = readFileSync(path.join(root, "web-demo/src/graphql-env.d.ts"), "utf8");
  expect(committed === readFileSync(fresh, "utf8"), "web-demo/src/graphql-env.d.ts is stale: run npm run demo:types").toBe(true);
});

it("every operation in web-demo is valid against the schema, and the demo type-checks", async () => {
  const run = (cmd: string, args: string[]) => exec(bin(cmd), args, { cwd: root }).catch((err) => err as { stdout: string; stderr: string; code: number });
  const [check, tsc] = await Promise.all([run("gql.tada", ["check", "-c", "web-demo/tsconfig.json"]), run("tsc", ["-p", "web-demo"])]);
  expect("code" in check ? `${check.stdout}${check.stderr}` : "ok").toBe("ok");
  expect("code" in tsc ? `${tsc.stdout}${tsc.stderr}` : "ok").toBe("ok");
});
