// One process per embedded (PGlite) data folder. PGlite does not stop a second
// process from opening the same folder, and two writers there lose writes
// silently. So the folder gets a lock file holding the owner's PID, created
// atomically ("wx") before PGlite touches anything. A lock whose process is gone
// (crash, kill -9) is stale and taken over. Hand-written (~40 lines): the issue
// asks for a PID in the file, and proper-lockfile (not a dependency of ours)
// judges staleness by mtime with a refresh timer instead.
// Known limit: a stale lock whose PID was reused by an unrelated live process
// reads as held; the error names the PID and the file to delete.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

export interface DataDirLock {
  file: string;
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const file = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.lock`);
  mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx");
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return { file, release: () => readPid(file) === process.pid && rmSync(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readPid(file);
    if (holder !== undefined && isAlive(holder)) {
      throw new DataDirInUseError(
        `the embedded database folder ${dataDir} is in use by another Stockwire process (PID ${holder}; lock ${file}): ` +
          "stop it, or set STOCKWIRE_DATA_DIR to another folder",
      );
    }
    // Stale (its process is gone) or still being written by a starter right now: retry once it is gone.
    if (holder !== undefined) rmSync(file, { force: true });
  }
  throw new DataDirInUseError(`the embedded database folder ${dataDir} is being opened by another process (lock ${file})`);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}
