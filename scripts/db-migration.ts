// npm run db:migration -- <name>: create a migration from prisma/schema.prisma.
import { createMigration } from "../src/db/migrations.js";

const USAGE = "usage: npm run db:migration -- <name> [--empty]   (letters, digits and _ only; --empty for hand-written SQL)";
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const empty = args.includes("--empty");
const name = args.find((a) => !a.startsWith("--"));
const unknown = args.filter((a) => a.startsWith("-") && a !== "--empty");
if (!name || !/^[a-z0-9_]+$/i.test(name) || unknown.length) {
  console.error(unknown.length ? `unknown option ${unknown[0]}; ${USAGE}` : USAGE);
  process.exit(1);
}
const dir = await createMigration(name, undefined, { empty });
console.log(
  dir
    ? `created ${dir}\nreview it, then apply with: npm run db:migrate`
    : "schema.prisma and the migrations already agree; nothing created",
);
