// npm run token -- --role admin | --role customer --sub <Customer ID> [--expires 12h]
// Prints a bearer token signed with JWT_SECRET (or the embedded default's development secret).
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../src/config/config.js";
import { signToken } from "../src/auth/tokens.js";
import { idOfType } from "../src/ids/index.js";

const USAGE = `usage: npm run token -- --role admin [--sub <Customer ID>] [--expires 12h]
       npm run token -- --role customer --sub <Customer ID> [--expires 12h]

Prints a bearer token signed with JWT_SECRET (or the development secret of the embedded default).
  --role      admin or customer (default: customer)
  --sub       the customer's global ID; required for customer tokens. In demo mode the server prints
              the demo customer's command at start; any customer's ID is in
              { customers(first: 5) { edges { node { id email } } } } with an admin token
  --expires   how long it is valid: 30m, 12h, 7d (default: 12h)
  -h, --help  this text`;

/** One line on stderr and exit 1: a usage mistake is not a crash. */
function fail(message: string): never {
  console.error(`token: ${message}   (npm run token -- --help)`);
  process.exit(1);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      role: { type: "string", default: "customer" },
      sub: { type: "string" },
      expires: { type: "string", default: "12h" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.role !== "admin" && values.role !== "customer") fail("--role must be admin or customer");
if (values.role === "customer" && !values.sub) {
  fail(
    "a customer token needs --sub <Customer ID>: in demo mode the server prints the demo customer's command at start " +
      '("auth      …\'s token"); an admin token needs --role admin',
  );
}
if (values.sub !== undefined && idOfType("Customer", values.sub) === null) {
  fail(`--sub must be a Customer ID as the API returns it (got ${JSON.stringify(values.sub.slice(0, 100))})`);
}
try {
  console.log(await signToken({ role: values.role, sub: values.sub }, loadConfig().jwt.secret, values.expires));
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  // jose refuses a time span it cannot read with a TypeError.
  if (err instanceof TypeError) fail(`--expires must be a time span like 30m, 12h or 7d (got "${values.expires}")`);
  throw err;
}
