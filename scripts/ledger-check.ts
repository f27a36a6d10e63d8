// npm run ledger:check: the stock ledger invariant on the configured database
// (DATABASE_URL, or the embedded one). Prints every mismatch and exits 1 if
// there is any, so an operator or a cron job can run it as is.
import { loadConfig } from "../src/config/config.js";
import { openDatabase } from "../src/db/database.js";
import { ledgerMismatches } from "../src/db/ledger.sql.js";

const db = await openDatabase(loadConfig().database);
let mismatches;
try {
  mismatches = await ledgerMismatches(db.prisma);
} finally {
  await db.close();
}
for (const m of mismatches) {
  const where = m.locationId ? `product ${m.productId} at location ${m.locationId}` : `product ${m.productId}`;
  const [a, b] = m.locationId ? ["ledger", "level"] : ["levels", "product"];
  console.log(`mismatch: ${where}: ${m.what} ${a} ${m.ledger}, ${b} ${m.current}`);
}
console.log(mismatches.length ? `${mismatches.length} mismatches` : "ledger ok: movements add up to every level, levels to every product");
process.exit(mismatches.length ? 1 : 0);
