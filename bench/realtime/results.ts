// What bench/realtime records per phase, per part (the API, the socket
// floor) and per scenario: the shapes report.ts prints and the JSON report holds.
import type { CpuShare } from "../lib/cpu.js";
import type { KafkaClient } from "../lib/kafka-client.js";
import type { Percentiles } from "../lib/stats.js";
import type { Scenario } from "./scenarios.js";
import type { CheckReply } from "../lib/subscriber-worker.js";

/**
 * pipeline: placeOrder -> commit -> relay -> Kafka -> bridge -> Redis -> API -> client.
 * redis-floor: Redis PUBLISH -> API -> client (no database, no Kafka).
 * socket-floor: Redis PUBLISH -> a bare ws server -> client (no GraphQL).
 */
export type PhaseKind = "pipeline" | "redis-floor" | "socket-floor";

export interface PhaseResult {
  kind: PhaseKind;
  round: number;
  /** pipeline: KAFKA_CLIENT of the relay and bridge that carried its events. */
  kafkaClient?: KafkaClient;
  /** Events per second emitted (orders / PUBLISHes), as asked. */
  rate: number;
  windowMs: number;
  /** From the window's start to the last delivery of an event emitted in it: how long delivering them took. */
  deliveryMs: number;
  /** Events emitted in the measured window (orders answered with success / events published). */
  events: number;
  /** Deliveries of those events to subscribers. */
  deliveries: number;
  /** Deliveries expected for them (each event x the subscribers watching its product); conflated scenarios get fewer by design. */
  expectedDeliveries: number;
  /** Per delivery: reference (commit or publish) -> arrival at the subscriber. */
  latency: Percentiles;
  /** Per subscriber and product: the phase's last event (the final state) -> its arrival. */
  finalState: Percentiles;
  /** Per delivery: occurredAt (the order transaction's now(), whole ms) -> arrival. */
  fromOccurredAt?: Percentiles;
  /** Per delivery: placeOrder answer received -> arrival (negative: the event beat the answer). */
  fromAnswer?: Percentiles;
  /** Per event: reference -> seen on Redis by a tap in this process. */
  toRedis: Percentiles;
  /** Per delivery: seen on Redis -> arrival at the subscriber. */
  redisToClient: Percentiles;
  /** Per event: commit -> the relay's transaction start (outbox_event.published_at, whole ms). */
  toRelay?: Percentiles;
  /** Per event: relay transaction start -> the message's Kafka CreateTime (set by the relay's producer; whole ms). */
  relayToProduce?: Percentiles;
  /** Per event: CreateTime -> a Kafka consumer in this process has it (produce + fetch; whole ms at the start). */
  produceToConsumer?: Percentiles;
  /** Per event: that consumer has it -> on Redis (roughly the bridge's own time: it fetched the same batch). */
  consumerToRedis?: Percentiles;
  /** Per order: placeOrder round trip. */
  orderLatency?: Percentiles;
  /** Orders refused as out of stock (the flash sale, once sold out): not errors. */
  ordersRefused: number;
  orderErrors: number;
  orderErrorSamples: string[];
  /** Last event emitted (answered) -> every subscriber has every product's final version. */
  drainMs: number;
  drained: boolean;
  /** % of one core per party over the measured window. */
  cpu: CpuShare;
  /**
   * CPU of the process that fans out (the API, or the socket floor's server)
   * from the window's start until everything was delivered, per delivery
   * that arrived meanwhile (all of them, warm-up events' too), in µs.
   */
  serverCpuPerDeliveryUs: number;
  /** Event-loop utilisation of the subscriber threads and of the order/publish thread (0..1). */
  threadElu: number[];
  mainElu: number;
  threadDelayP99: number[];
  unknownDeliveries: number;
  /** The machine's 1-minute load average as the phase ended. */
  loadAverage?: number;
}

/** The clients' verdict on what they received (as the subscriber workers report it). */
export type ClientCheck = CheckReply;

/** One server (the API, or the socket floor) with the scenario's subscribers connected, and its phases. */
export interface PartResult {
  target: "api" | "socket-floor";
  connectMs: number;
  connected: number;
  connectFailures: string[];
  /** RSS of the server process: before connecting, connected, after the phases, peak. */
  serverRss: { before: number; connected: number; end: number; peak: number };
  /** The server's live heap after a full GC (memory-probe.ts): before connecting, connected, all disconnected again. */
  serverHeap: { before: NodeJS.MemoryUsage; connected: NodeJS.MemoryUsage; disconnected?: NodeJS.MemoryUsage };
  /** Live heap + external per connection, bytes. */
  heapPerConnection: number;
  benchRss: { before: number; connected: number };
  phases: PhaseResult[];
  check: ClientCheck;
  /** The correctness verdict of this part (see scenarioChecks in report.ts). */
  pass: boolean;
  failures: string[];
  logTail?: string;
}

export interface ScenarioResult {
  scenario: Omit<Scenario, "assignments">;
  /** Subscribers per product, index = product number. */
  watchers: number[];
  /** Whether the subscription was sent with maxUpdatesPerSecond (only when the schema has the argument). */
  rateArgumentSent: boolean;
  parts: PartResult[];
}
