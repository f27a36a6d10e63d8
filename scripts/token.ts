// npm run token -- --role admin | --role customer --sub <Customer ID> [--expires 12h]
// Prints a bearer token signed with JWT_SECRET (or the embedded default's development secret).
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/config.js";
import { signToken } from "../src/auth/tokens.js";

const { values } = parseArgs({
  options: { role: { type: "string", default: "customer" }, sub: { type: "string" }, expires: { type: "string", default: "12h" } },
});
if (values.role !== "admin" && values.role !== "customer") {
  console.error("--role must be admin or customer");
  process.exit(1);
}
if (values.role === "customer" && !values.sub) {
  console.error(
    "a customer token needs --sub <Customer ID> (e.g. from `{ customers(first: 5) { edges { node { id email } } } }` with an admin token)",
  );
  process.exit(1);
}
console.log(await signToken({ role: values.role, sub: values.sub }, loadConfig().jwt.secret, values.expires));
