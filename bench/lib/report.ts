// What a report says about where and on what it ran, its file names in
// bench/results/, and the few number formats the tables use.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openFileLimit } from "./stats.js";

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  openFiles: number;
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? "?",
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()}`,
    openFiles: openFileLimit().soft,
  };
}

export interface CodeVersion {
  /** Short commit, or "nogit". */
  commit: string;
  /** Files that make up the API or the benchmark (src, prisma, schema, packages, bench, scripts) differ from the commit. */
  dirty: boolean;
  text: string;
}

/** The commit benchmarked, and whether the files that make up the API differ from it. */
export function codeVersion(root: string): CodeVersion {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const commit = git("rev-parse", "--short", "HEAD");
    const dirty =
      git(
        "status",
        "--porcelain",
        "--",
        "src",
        "prisma",
        "schema.graphql",
        "package.json",
        "package-lock.json",
        "bench",
        ":(exclude)bench/results", // an earlier run's report is not a change to the code
        "scripts",
      ) !== "";
    return { commit, dirty, text: `git ${commit}${dirty ? " + uncommitted changes (src, prisma, bench or scripts)" : " (clean)"}` };
  } catch {
    return { commit: "nogit", dirty: false, text: "not a git checkout" };
  }
}

/**
 * Writes `<dir>/<date>-<bench>-<commit>.md` and `.json` (a second run of the
 * same day and commit gets -2, -3, ...; a dirty tree "-dirty"). Returns the paths.
 */
export async function saveReport(
  dir: string,
  info: { bench: string; startedAt: string; code: CodeVersion },
  markdown: string,
  json: unknown,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const base = `${info.startedAt.slice(0, 10)}-${info.bench}-${info.code.commit}${info.code.dirty ? "-dirty" : ""}`;
  let name = base;
  for (let n = 2; existsSync(path.join(dir, `${name}.md`)) || existsSync(path.join(dir, `${name}.json`)); n++) name = `${base}-${n}`;
  const md = path.join(dir, `${name}.md`);
  const js = path.join(dir, `${name}.json`);
  await writeFile(md, markdown);
  // NaN and Infinity are not JSON: write them as null.
  await writeFile(js, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`);
  return [md, js];
}

export const f1 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(1) : "-");
export const f2 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(2) : "-");
export const int = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");
export const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${x.toFixed(0)}%` : "-");
export const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "-");

/** A Markdown table; columns whose header starts with "<" are left-aligned, the rest right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string[] {
  const left = headers.map((h) => h.startsWith("<"));
  return [
    `| ${headers.map((h) => h.replace(/^</, "")).join(" | ")} |`,
    `|${left.map((l) => (l ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}
