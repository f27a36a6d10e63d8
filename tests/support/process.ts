// Runs `node --import tsx src/main.ts` as a child process and waits for its
// GraphiQL line to learn the URL. One process, not the `tsx` CLI: that CLI
// relays SIGTERM to a child of its own and SIGKILLs it (exit 143) when the
// child's event loop does not acknowledge within 60 ms, which a busy CI
// machine can exceed, so a clean stop would look like a crash.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface ServerProcess {
  url: string;
  output: () => string;
  child: ChildProcess;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function runMain(env: Record<string, string | undefined>, args: string[] = []): ChildProcess {
  const clean = { ...process.env };
  for (const k of ["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "JWT_SECRET", "PORT"]) delete clean[k];
  // Its own process group, so a failed start can be stopped whole, with anything it started.
  return spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...args], {
    cwd: root,
    env: { ...clean, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
}

export async function startServer(env: Record<string, string | undefined>, timeoutMs = 120_000): Promise<ServerProcess> {
  const child = runMain({ PORT: "0", HOST: "127.0.0.1", ...env });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Leave nothing behind: the whole group, tsx and the server it started.
      if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`server did not start within ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    child.stdout!.on("data", () => {
      const m = /GraphiQL\s+(http:\/\/\S+)\/graphql/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
  };
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, output })));
}
