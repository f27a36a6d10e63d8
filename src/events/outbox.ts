// An outbox row as the services write it: the relay publishes `payload` under `topic`, keyed by `key`.
import type { Prisma } from "../generated/prisma/client.js";

export interface OutboxRow {
  topic: string;
  key: string;
  payload: Prisma.InputJsonObject;
}
