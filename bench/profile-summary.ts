// Summarises a V8 .cpuprofile (e.g. from `bench/orders/main.ts --cpu-prof`): self
// time by package and the top functions, so "where does the API spend its
// CPU?" has an answer without opening DevTools.
//
//   npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 25] [--from <s>] [--to <s>]
//
// --from/--to keep only the samples taken that many seconds after the
// profiled process started (bench/orders prints each scenario's offset),
// e.g. to leave out start-up (module loading, migrations).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "25" }, from: { type: "string", default: "0" }, to: { type: "string", default: "Infinity" } },
});
if (positionals.length !== 1) {
  console.error("usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 25] [--from <s>] [--to <s>]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as Profile;
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
const fromUs = Number(values.from) * 1e6;
const toUs = Number(values.to) * 1e6;
let t = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (t >= fromUs && t <= toUs) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
});

/** node_modules/<pkg> (scoped too), our own src/..., node:internal, or a V8 pseudo-frame. */
function owner(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native/V8)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  const src = /\/(src\/[^/]+(?:\/[^/]+)?)/.exec(url);
  return src ? src[1]! : url;
}

const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === "(idle)").reduce((a, [, t]) => a + t, 0);
const pkg = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const o = owner(url, functionName);
  pkg.set(o, (pkg.get(o) ?? 0) + us);
  const where = url.startsWith("node:") ? url : o;
  const key = `${functionName || "(anonymous)"}  ${where}${url ? `:${lineNumber + 1}` : ""}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
}

// Inclusive time: each sample counts once for every package on its stack.
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const { functionName, url } = byId.get(cur)!.callFrame;
    if (functionName === "(root)") continue;
    seen.add(owner(url, functionName));
  }
  for (const o of seen) inclusive.set(o, (inclusive.get(o) ?? 0) + us);
}

const busy = total - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
console.log(
  `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(idle / 1e6).toFixed(1)} s idle, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)\n`,
);
console.log("self time by package:");
for (const [name, us] of [...pkg]
  .filter(([n]) => n !== "(idle)")
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  console.log(`  ${pct(us)}  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${name}`);
}
console.log("\ninclusive time by package (on the stack; synchronous stacks only, so async callbacks count where they resume):");
for (const [name, us] of [...inclusive]
  .filter(([n]) => n !== "(idle)")
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  console.log(`  ${pct(us)}  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${name}`);
}
console.log("\ntop functions by self time:");
for (const [name, us] of [...fns]
  .filter(([n]) => !n.startsWith("(idle)"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  console.log(`  ${pct(us)}  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${name}`);
}
