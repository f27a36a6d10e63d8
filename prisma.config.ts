// Prisma CLI configuration (Prisma 7 reads the datasource URL from here, not
// from schema.prisma). Only used by the CLI: `prisma generate` here, and
// `prisma migrate deploy` for users who have Prisma's native engine.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/stockwire" },
});
