// Finding 10 of issue 11: SIGTERM to the `npm start` process (what a process
// manager or `kill <pid>` sends) stops the server too, not only npm: the
// script execs node, so npm's forwarded signal reaches the server itself.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = mkdtempSync(path.join(tmpdir(), "stockwire-npm-start-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

it("SIGTERM to npm start stops the node server as well", { timeout: 180_000 }, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", HOST: "127.0.0.1", STOCKWIRE_DATA_DIR: dataDir };
  for (const k of ["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "JWT_SECRET"]) delete env[k];
  // Its own process group, so that whatever happens the test can stop everything it started.
  const npm = spawn("npm", ["start"], { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pgid = npm.pid!;
  let out = "";
  npm.stdout.on("data", (d) => (out += d));
  npm.stderr.on("data", (d) => (out += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      npm.stdout.on("data", () => {
        const m = /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(out);
        if (m) resolve(m[1]!);
      });
      npm.on("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
    });
    expect((await fetch(`${url}/health`)).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
    process.kill(npm.pid!, "SIGTERM"); // npm only, not its group
    await exited;
    // The server stops within its own stop deadline (10 s); poll the group until it is empty.
    for (let i = 0; i < 150 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(groupAlive(pgid), `still running after npm exited:\n${out}`).toBe(false);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    expect(out).toMatch(/SIGTERM: stopping/);
  } finally {
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
  }
});
