// npm run db:migrate: apply pending migrations to DATABASE_URL, or to the
// embedded PGlite database when DATABASE_URL is not set.
import { loadConfig, ConfigError } from "../src/config/config.js";
import { openDatabase } from "../src/db/database.js";

try {
  const db = await openDatabase(loadConfig().database);
  try {
    const applied = await db.migrate();
    console.log(applied.length ? `applied: ${applied.join(", ")}` : `${db.describe}: already up to date`);
  } finally {
    await db.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? `stockwire: ${err.message}` : err);
  process.exit(1);
}
