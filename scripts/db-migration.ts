// npm run db:migration -- <name>: create a migration from prisma/schema.prisma.
import { createMigration } from "../src/db/migrations.js";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/i.test(name)) {
  console.error("usage: npm run db:migration -- <name>   (letters, digits and _ only)");
  process.exit(1);
}
const dir = await createMigration(name);
console.log(dir ? `created ${dir}\nreview it, then apply with: npm run db:migrate` : "schema.prisma and the migrations already agree; nothing created");
