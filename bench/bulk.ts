// npm run bench:bulk: issue 25's benchmark, both halves in turn with the same size: bulk-import.ts
// (--rows rows through startBulkImport against COPY + merge), then bulk-export.ts (--rows products
// through GET /export/*.csv against COPY ... TO STDOUT). Each is its own process with its own report
// (and results file); this exits with the first failure's code, after running both.
//
//   npm run bench:bulk [-- --rows 100000 --rounds 3]
import { spawn } from "node:child_process";
import path from "node:path";
import { root } from "./lib/harness.js";
import { parseOptions } from "./lib/options.js";

const options = parseOptions(
  "npx tsx bench/bulk.ts [options]",
  {
    rows: { arg: "<n>", default: "100000", help: "Rows imported; products exported" },
    rounds: { arg: "<n>", default: "3", help: "Interleaved rounds of each half" },
    watchers: { arg: "<n>", default: "200", help: "stockChanged subscribers during the import's extra round (0: none)" },
    stream: { arg: "<kafka|memory>", default: "kafka", help: "The import's event path (bulk-import.ts --help)" },
    "cpu-prof": { flag: true, help: "CPU profiles of the API (one import round; the export's process)" },
    save: { flag: true, default: true, help: "Write the reports to bench/results (--no-save: do not)" },
    "results-dir": { arg: "<dir>", default: "bench/results", help: "Where reports go" },
  },
  "Each half alone: npx tsx bench/bulk-import.ts --help, npx tsx bench/bulk-export.ts --help",
);
const rows = String(options.int("rows", 1));
const rounds = String(options.int("rounds", 1));
const common = [
  "--rounds",
  rounds,
  ...(options.flag("cpu-prof") ? ["--cpu-prof"] : []),
  options.flag("save") ? "--save" : "--no-save",
  "--results-dir",
  options.string("results-dir")!,
];

function run(script: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "bench", script), ...args], { cwd: root, stdio: "inherit" });
    // Ctrl-C reaches the child through the terminal's process group; a SIGTERM to this one is passed on.
    const forward = () => child.kill("SIGTERM");
    process.on("SIGTERM", forward);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      process.off("SIGTERM", forward);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

// Ctrl-C: the child cleans up and exits; this one waits for it, then stops without the next half.
process.on("SIGINT", () => {});
const importCode = await run("bulk-import.ts", [
  "--rows",
  rows,
  "--watchers",
  String(options.int("watchers", 0)),
  "--stream",
  options.string("stream")!,
  ...common,
]);
if (importCode >= 128) process.exit(importCode);
const exportCode = await run("bulk-export.ts", ["--products", rows, ...common]);
process.exit(importCode || exportCode);
