// A lock across processes (vitest runs test files in parallel forks): one
// apt-get or one demo build at a time. mkdir is atomic; a lock older than
// staleMs is left over from a killed run and is taken over.
import { mkdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export async function withFileLock<T>(name: string, fn: () => Promise<T>, staleMs = 10 * 60_000): Promise<T> {
  const dir = path.join(tmpdir(), `stockwire-${name}.lock`);
  for (;;) {
    try {
      mkdirSync(dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(dir).mtimeMs > staleMs) rmSync(dir, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
