// What tests/setup/global-setup.ts provides to every test file (vitest
// provide/inject): where the real PostgreSQL, Redis and Kafka are.
import { inject } from "vitest";

export interface ServicesInfo {
  /** Superuser-ish URL for CREATE/DROP DATABASE (the server's own DATABASE_URL when given). */
  postgresAdminUrl: string;
  /** Database with the project's migrations applied; createTestDatabase() clones it. */
  templateDatabase: string;
  redisUrl: string;
  /** host:port list, as KAFKA_BROKERS splits into. */
  kafkaBrokers: string[];
}

declare module "vitest" {
  export interface ProvidedContext {
    services: ServicesInfo;
  }
}

export const services = (): ServicesInfo => inject("services");
export const postgresAdminUrl = (): string => services().postgresAdminUrl;
export const redisUrl = (): string => services().redisUrl;
export const kafkaBrokers = (): string[] => services().kafkaBrokers;
