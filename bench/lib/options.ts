// Command-line options of a benchmark: one table of name, default and help
// line, from which both node:util's parseArgs and the --help text are made,
// so the two cannot drift apart. Numbers are checked here, once.
import { parseArgs } from "node:util";

export interface OptionSpec {
  /** Placeholder in the help text ("<s>", "<n,...>"); omitted for a flag. */
  arg?: string;
  /** Flags default to false unless given; `--no-<name>` turns a true default off. */
  flag?: boolean;
  default?: string | boolean;
  help: string;
}

export interface ParsedOptions {
  /** The raw string (undefined when not given and without default). */
  string(name: string): string | undefined;
  flag(name: string): boolean;
  /** A number >= min (exits with the usage on anything else). */
  number(name: string, min: number): number;
  int(name: string, min: number): number;
  /** A comma-separated list of numbers, each >= min. */
  numbers(name: string, min: number): number[];
  /** Whether the user gave the option (rather than its default). */
  given(name: string): boolean;
  /** Prints msg and the usage, exits 2. */
  fail(msg: string): never;
}

export function parseOptions(usage: string, spec: Record<string, OptionSpec>, footer = "", args = process.argv.slice(2)): ParsedOptions {
  const help = helpText(usage, spec, footer);
  const options: Record<string, { type: "string" | "boolean"; default?: string | boolean }> = { help: { type: "boolean", default: false } };
  for (const [name, s] of Object.entries(spec))
    options[name] = { type: s.flag ? "boolean" : "string", ...(s.default !== undefined ? { default: s.default } : {}) };
  const fail = (msg: string): never => {
    console.error(`${msg}\n\n${help}`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined>;
  const explicit = new Set<string>();
  try {
    const parsed = parseArgs({ args, options, allowNegative: true, strict: true, tokens: true });
    values = parsed.values as typeof values;
    for (const t of parsed.tokens) if (t.kind === "option") explicit.add(t.name);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    console.log(help);
    process.exit(0);
  }
  const toNumber = (name: string, raw: string | undefined, min: number) => {
    const n = Number(raw);
    if (raw === undefined || raw.trim() === "" || !Number.isFinite(n) || n < min) fail(`--${name} must be a number >= ${min}`);
    return n;
  };
  const str = (name: string) => {
    const v = values[name];
    return typeof v === "string" ? v : undefined;
  };
  return {
    string: str,
    flag: (name) => values[name] === true,
    number: (name, min) => toNumber(name, str(name), min),
    int: (name, min) => Math.floor(toNumber(name, str(name), min)),
    numbers: (name, min) => (str(name) ?? "").split(",").map((s) => toNumber(name, s.trim(), min)),
    given: (name) => explicit.has(name),
    fail,
  };
}

function helpText(usage: string, spec: Record<string, OptionSpec>, footer: string): string {
  const lines = [`Usage: ${usage}`, ""];
  for (const [name, s] of Object.entries(spec)) {
    const left = `  --${name}${s.arg ? ` ${s.arg}` : ""}`;
    const def =
      s.default === undefined || s.default === false
        ? ""
        : s.default === true
          ? " (default on; --no-" + name + " turns it off)"
          : ` (default ${s.default})`;
    const text = `${s.help}${def}`.replaceAll("\n", `\n${" ".repeat(26)}`);
    lines.push(left.length < 26 ? `${left.padEnd(26)}${text}` : `${left}\n${" ".repeat(26)}${text}`);
  }
  lines.push("  --help                  this text");
  return footer ? `${lines.join("\n")}\n\n${footer}` : lines.join("\n");
}
