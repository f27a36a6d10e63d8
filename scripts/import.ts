// npm run import -- FILE [--mode UPSERT|CREATE_ONLY] [--url http://localhost:4000/graphql]
// Uploads FILE with startBulkImport (a GraphQL multipart request, the file streamed from disk) and
// watches the job by polling bulkOperation(id) until it ends. The admin token comes from
// STOCKWIRE_TOKEN only: this is a client of a server that may be elsewhere, and signing a token
// here would need the server's JWT_SECRET on this machine (`npm run token` is the tool for that).
import { openAsBlob, statSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { exitCode, isFinished, progressBar, progressLine, summary, type Progress, type RowError } from "./import-progress.js";

const USAGE = `usage: npm run import -- FILE [--mode UPSERT|CREATE_ONLY] [--url http://localhost:4000/graphql]

Uploads FILE (CSV with a header row, or JSONL) with startBulkImport and shows the job's progress until it ends.
  --mode      UPSERT (default): create new SKUs, update those that exist; CREATE_ONLY: an existing SKU is a row error
  --url       the API's GraphQL endpoint (default: http://localhost:4000/graphql)
  -h, --help  this text
The admin token is read from STOCKWIRE_TOKEN, e.g. STOCKWIRE_TOKEN=$(npm run -s token -- --role admin).
Exit codes: 0 every row imported; 1 rows failed, or the job failed or was cancelled; 2 nothing was started
(usage, file, token, a file the server refused, server unreachable); 130 stopped watching (Ctrl-C; the job goes on).`;

const POLL_MS = 250;
/** Polls that may fail in a row (the server restarting: the job resumes there) before giving up. */
const MAX_POLL_FAILURES = 240;
const FIRST_ERRORS = 10;
const QUERY_TIMEOUT_MS = 10_000;

/** One line on stderr and exit 2: nothing was imported. */
function refuse(message: string): never {
  console.error(`import: ${message}`);
  process.exit(2);
}

const START = `mutation ($file: File!, $mode: BulkImportMode!) {
  startBulkImport(file: $file, mode: $mode) {
    __typename
    ... on StartBulkImportSuccess { bulkOperation { id status rowsTotal rowsDone rowsFailed } }
    ... on BulkImportFileError { problem message }
    ... on Error { message }
  }
}`;
const WATCH = `query ($id: ID!) { bulkOperation(id: $id) { status rowsTotal rowsDone rowsFailed } }`;
const ERRORS = `query ($id: ID!, $first: Int!) {
  bulkOperation(id: $id) { errors(first: $first) { edges { node { row column message } } } }
}`;

interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

function readArgs(): { file: string; mode: string; url: string; token: string } {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        mode: { type: "string", default: "UPSERT" },
        url: { type: "string", default: "http://localhost:4000/graphql" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    refuse(`${(err as Error).message}   (npm run import -- --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) refuse("give one FILE to import   (npm run import -- --help)");
  if (values.mode !== "UPSERT" && values.mode !== "CREATE_ONLY") refuse(`--mode must be UPSERT or CREATE_ONLY (got "${values.mode}")`);
  if (!URL.canParse(values.url)) refuse(`--url must be a URL like http://localhost:4000/graphql (got "${values.url}")`);
  const token = process.env.STOCKWIRE_TOKEN?.trim();
  if (!token) {
    refuse("STOCKWIRE_TOKEN is not set: it must hold an admin token, e.g. STOCKWIRE_TOKEN=$(npm run -s token -- --role admin)");
  }
  return { file: positionals[0]!, mode: values.mode, url: values.url, token };
}

async function post(
  url: string,
  token: string,
  body: FormData | string,
  signal?: AbortSignal,
): Promise<{ status: number; body: GraphQLBody | null }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (typeof body === "string") headers["content-type"] = "application/json";
  const res = await fetch(url, { method: "POST", headers, body, signal });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as GraphQLBody };
  } catch {
    return { status: res.status, body: null };
  }
}

async function query(url: string, token: string, q: string, variables: Record<string, unknown>): Promise<Record<string, any>> {
  // Bounded: a server that hangs counts as a failed poll (the upload itself is not bounded: large files take long).
  const res = await post(url, token, JSON.stringify({ query: q, variables }), AbortSignal.timeout(QUERY_TIMEOUT_MS));
  if (res.body?.errors?.length) throw new Error(res.body.errors.map((e) => e.message).join("; "));
  if (!res.body?.data) throw new Error(`the server answered ${res.status}`);
  return res.body.data;
}

/** The job's id and first state, or exit 2 with what the server said. */
async function upload(file: string, mode: string, url: string, token: string): Promise<{ id: string; progress: Progress }> {
  let blob: Blob;
  try {
    if (!statSync(file).isFile()) refuse(`${file} is not a file`);
    blob = await openAsBlob(file); // read from disk as the request is sent, not held in memory
  } catch (err) {
    refuse(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const form = new FormData();
  form.append("operations", JSON.stringify({ query: START, variables: { file: null, mode } }));
  form.append("map", JSON.stringify({ 0: ["variables.file"] }));
  form.append("0", blob, basename(file));
  let res;
  try {
    res = await post(url, token, form);
  } catch (err) {
    refuse(`cannot reach ${url}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
  }
  if (res.status === 413) {
    refuse(
      "the server refused the upload as too large: the file is over its BULK_IMPORT_MAX_BYTES, or the token is not a valid admin token (only those may send large files)",
    );
  }
  const error = res.body?.errors?.[0];
  if (error) {
    const code = error.extensions?.code;
    if (code === "UNAUTHENTICATED") refuse(`the server refused the token in STOCKWIRE_TOKEN: ${error.message}`);
    if (code === "FORBIDDEN") refuse(`the token in STOCKWIRE_TOKEN is not an admin's: ${error.message}`);
    refuse(`the server refused the request (${code ?? res.status}): ${error.message}`);
  }
  const result = res.body?.data?.startBulkImport;
  if (!result) refuse(`the server answered ${res.status} without a result (is ${url} a Stockwire API?)`);
  if (result.__typename === "BulkImportFileError") refuse(`the file was refused (${result.problem}): ${result.message}`);
  if (result.__typename !== "StartBulkImportSuccess") refuse(`the import was refused (${result.__typename}): ${result.message}`);
  const { id, ...progress } = result.bulkOperation;
  return { id, progress };
}

/** Prints each change of the job's state until it ends (or Ctrl-C, which leaves the job running). */
async function watch(id: string, first: Progress, url: string, token: string): Promise<Progress> {
  const tty = process.stdout.isTTY;
  let shown = "";
  const show = (p: Progress) => {
    const line = tty ? progressBar(p, process.stdout.columns || 80) : progressLine(p);
    if (line === shown) return;
    shown = line;
    process.stdout.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  process.once("SIGINT", () => {
    if (tty) process.stdout.write("\n");
    console.log(`Stopped watching. The import goes on on the server: bulk operation ${id}`);
    console.log(`Watch it again with bulkOperation(id: "${id}") { status rowsDone rowsTotal rowsFailed }`);
    console.log(`Cancel it with mutation { cancelBulkOperation(id: "${id}") { __typename } }`);
    process.exit(130);
  });
  let p = first;
  let failures = 0;
  for (;;) {
    show(p);
    if (isFinished(p)) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    try {
      const op = (await query(url, token, WATCH, { id })).bulkOperation as Progress | null;
      if (!op) throw new Error("the server does not know the job");
      p = op;
      failures = 0;
    } catch (err) {
      if (++failures >= MAX_POLL_FAILURES) {
        if (tty) process.stdout.write("\n");
        console.error(`import: lost the job ${id}: ${(err as Error).message}; it may still be running on the server`);
        process.exit(1);
      }
    }
  }
  if (tty) process.stdout.write("\n");
  return p;
}

const { file, mode, url, token } = readArgs();
const { id, progress } = await upload(file, mode, url, token);
console.log(`bulk operation ${id}: ${progress.rowsTotal} rows (${mode})`);
const last = await watch(id, progress, url, token);
let errors: RowError[] = [];
if (last.rowsFailed > 0 || last.status === "FAILED") {
  const data = await query(url, token, ERRORS, { id, first: FIRST_ERRORS }).catch(() => null);
  errors = (data?.bulkOperation?.errors.edges ?? []).map((e: { node: RowError }) => e.node);
}
for (const line of summary(id, last, errors)) console.log(line);
process.exit(exitCode(last));
