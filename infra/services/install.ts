// Getting the service binaries onto a fresh Debian machine: apt for
// PostgreSQL, Redis, Java and Maven; Maven Central for the Kafka broker jars.
// Everything is looked up first and installed only when missing.
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { run, type RunAs } from "./process.js";

type Log = (line: string) => void;

/** Like `which`: the first executable `command` on PATH. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

let aptQueue: Promise<unknown> = Promise.resolve();
let aptUpdated = false;

/**
 * apt-get install, non-interactive. Calls are serialised (services start in
 * parallel; dpkg allows one install at a time) and `apt-get update` runs once
 * per process. DPkg::Lock::Timeout waits for other apt processes on the
 * machine instead of failing. Package scripts may try to start the system
 * daemons; Debian container images block that with /usr/sbin/policy-rc.d,
 * and our own instances use other ports and dirs in any case.
 */
export function aptInstall(packages: string[], log: Log): Promise<void> {
  const next = aptQueue.then(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `missing ${packages.join(", ")}: install with \`sudo apt-get install -y ${packages.join(" ")}\` (auto-install needs root)`,
      );
    }
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const lock = ["-o", "DPkg::Lock::Timeout=300"];
    if (!aptUpdated) {
      log("[services] apt-get update");
      await run("apt-get", [...lock, "update"], { env });
      aptUpdated = true;
    }
    log(`[services] apt-get install -y ${packages.join(" ")}`);
    await run("apt-get", [...lock, "install", "-y", "--no-install-recommends", ...packages], { env });
  });
  aptQueue = next.catch(() => {});
  return next;
}

/** Installs `pkg` when `command` is not on PATH; returns the command's path. */
export async function ensureCommand(command: string, pkg: string, log: Log): Promise<string> {
  const found = which(command);
  if (found) return found;
  await aptInstall([pkg], log);
  const installed = which(command);
  if (!installed) throw new Error(`installed ${pkg} but \`${command}\` is still not on PATH`);
  return installed;
}

/**
 * Debian installs PostgreSQL under /usr/lib/postgresql/<major>/bin, off PATH.
 * Returns the newest such bin dir that has initdb and postgres, installing
 * the `postgresql` package when there is none.
 */
export async function ensurePostgresBin(log: Log, root = "/usr/lib/postgresql"): Promise<string> {
  const find = () => {
    const majors = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
    return majors
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => path.join(root, v, "bin"))
      .find((bin) => existsSync(path.join(bin, "initdb")) && existsSync(path.join(bin, "postgres")));
  };
  const found = find();
  if (found) return found;
  await aptInstall(["postgresql"], log);
  const installed = find();
  if (!installed) throw new Error(`installed postgresql but found no ${root}/*/bin/initdb`);
  return installed;
}

/** uid/gid of a system user from /etc/passwd (e.g. `postgres`, created by the postgresql package). */
export function systemUser(name: string): RunAs {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no system user \`${name}\` (normally created by apt-get install postgresql)`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Copies the runtime dependencies of `pom` into `dir` with Maven, once.
 * A marker file is written after a complete copy; without it the dir is
 * treated as a half download and redone. Downloads go to a private temp dir
 * that is renamed into place, so concurrent runs do not see partial jars.
 */
export async function mavenDependencies(pom: string, dir: string, log: Log): Promise<string> {
  const marker = path.join(dir, ".complete");
  if (existsSync(marker)) return dir;
  await ensureCommand("java", "openjdk-17-jre-headless", log);
  const mvn = await ensureCommand("mvn", "maven", log);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  log(`[services] downloading ${path.relative(process.cwd(), pom)} dependencies from Maven Central into ${dir}`);
  try {
    await run(mvn, ["-q", "-B", "-f", pom, "dependency:copy-dependencies", `-DoutputDirectory=${partial}`, "-DincludeScope=runtime"]);
    const jars = readdirSync(partial).filter((f) => f.endsWith(".jar"));
    if (jars.length === 0) throw new Error(`mvn copied no jars for ${pom}`);
    await writeFile(path.join(partial, ".complete"), `${jars.sort().join("\n")}\n`);
    if (existsSync(marker)) return dir; // a concurrent run finished first
    await rm(dir, { recursive: true, force: true }); // a half download without marker
    await rename(partial, dir);
    return dir;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}
