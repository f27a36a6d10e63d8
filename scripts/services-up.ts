// npx tsx scripts/services-up.ts
// Starts PostgreSQL, Redis and Kafka (or adopts DATABASE_URL / REDIS_URL /
// KAFKA_BROKERS from the environment), prints them as env lines on stdout
// and stays up until Ctrl-C. Progress goes to stderr, so
// `npx tsx scripts/services-up.ts > services.env` captures just the variables.
// Stopping is infra/services/process.ts's signal handling: it stops every service it
// started and deletes their temp dirs before exiting.
import { startServices } from "../infra/services/stack.js";

const log = (line: string) => console.error(line);
const services = await startServices({ log });
console.log(`DATABASE_URL=${services.databaseUrl}`);
console.log(`REDIS_URL=${services.redisUrl}`);
console.log(`KAFKA_BROKERS=${services.kafkaBrokers.join(",")}`);
log("[services] up; Ctrl-C to stop");
for (const signal of ["SIGINT", "SIGTERM"] as const) process.prependListener(signal, () => log(`[services] ${signal}: stopping`));
