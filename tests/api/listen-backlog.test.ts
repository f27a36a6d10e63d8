// The API listens with the backlog LISTEN_BACKLOG asks for (default 4,096, not Node's 511): the
// connections the kernel queues for the server before it accepts them, so that a sale's opening
// second (thousands of sockets at once) is queued rather than reset. Read back from the kernel: for
// a listening TCP socket, `ss` shows the backlog as its Send-Q (capped at net.core.somaxconn).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureCommand, which } from "../../infra/services/install.js";
import { withFileLock } from "../browser/support/file-lock.js";
import { startApi, type Api } from "../support/api.js";

const apis: Api[] = [];
afterAll(async () => {
  for (const api of apis) await api.close();
});

const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
let ss: string;
beforeAll(async () => {
  ss = which("ss") ?? (await withFileLock("apt", () => ensureCommand("ss", "iproute2", (line) => console.log(line))));
}, 300_000);

/** The kernel's backlog of the socket listening on `port` (ss: State Recv-Q Send-Q Local Peer). */
function kernelBacklog(port: number): number {
  const lines = execFileSync(ss, ["-ltnH", `sport = :${port}`], { encoding: "utf8" })
    .trim()
    .split("\n");
  expect(lines, "one listening socket on the port").toHaveLength(1);
  return Number(lines[0]!.trim().split(/\s+/)[2]);
}

async function listeningPort(env: Record<string, string>) {
  const api = await startApi(env);
  apis.push(api);
  return Number(new URL(await api.app.start()).port);
}

it("listens with a backlog of 4,096 by default (as far as the kernel allows)", async () => {
  expect(kernelBacklog(await listeningPort({}))).toBe(Math.min(4_096, somaxconn));
});

it("listens with the backlog LISTEN_BACKLOG names", async () => {
  expect(kernelBacklog(await listeningPort({ LISTEN_BACKLOG: "123" }))).toBe(123);
});
