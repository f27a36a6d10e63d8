// npm run db:seed: load the demo catalogue into an empty database.
import { loadConfig } from "../src/config/config.js";
import { openDatabase } from "../src/db/database.js";
import { seedDemoData } from "../src/db/seed.js";

const db = await openDatabase(loadConfig().database);
try {
  await db.migrate();
  const n = await seedDemoData(db.prisma);
  console.log(n ? `seeded ${n} products` : "catalogue not empty; nothing seeded");
} finally {
  await db.close();
}
