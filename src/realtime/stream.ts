// The durable event stream between the outbox relay and the bridge. With
// KAFKA_BROKERS: Apache Kafka via kafkajs (idempotent producer, acks from all
// in-sync replicas, offsets committed only after the handler finished), or via
// @platformatic/kafka with KAFKA_CLIENT=platformatic (stream-platformatic.ts). Without:
// an in-process log with the same contract, for the embedded default.
import { EventEmitter } from "node:events";
import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type Producer } from "kafkajs";
import type { Config } from "../config/config.js";
import type { TraceCarrier } from "../observability/trace-context.js";
import type { Breaker } from "../observability/breakers.js";
import { leaveGroupFor } from "./kafka-leave-group.js";
import "./kafkajs-idle-fix.js"; // before any kafkajs client exists: see the file
import { platformaticStream } from "./stream-platformatic.js";

/** How long a start waits for new topics' partitions to get leaders. */
const TOPIC_READY_TIMEOUT_MS = 30_000;

export interface StreamMessage {
  topic: string;
  /** Partition key: one key's messages stay in order. */
  key: string;
  value: string;
  /** Message headers: the change's trace context (W3C traceparent), when it has one. */
  headers?: TraceCarrier;
}

export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  /** Must resolve only when the messages are handled: their offsets are committed after it. */
  onBatch(messages: StreamMessage[]): Promise<void>;
  /** Consumer crashes (the consumer recovers by itself; this only reports them). */
  onError?: (err: unknown) => void;
}

export interface StreamBackend {
  kind: "kafka" | "memory";
  describe: string;
  /** Resolves once every message is durably accepted, in order per key. */
  publish(messages: StreamMessage[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<{ stop(): Promise<void> }>;
  /** Per partition: messages in `topics` that `groupId` has not committed yet (for monitoring). */
  consumerLag(groupId: string, topics: string[]): Promise<{ topic: string; partition: number; lag: number }[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createStream(config: Config["kafka"], breaker?: Breaker): StreamBackend {
  if (config.kind === "memory") return memoryStream();
  return config.client === "platformatic" ? platformaticStream(config, breaker) : kafkaStream(config, breaker);
}

/** Connecting to a broker, and one request to it, when the config does not say (KAFKA_CONNECT_TIMEOUT_MS, KAFKA_REQUEST_TIMEOUT_MS). */
const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

// Retries wait at most 1 s: once Kafka is back, the relay's producer and the
// bridge's consumer notice within a second (kafkajs' default climbs to 30 s).
const RETRY = { initialRetryTime: 100, maxRetryTime: 1_000 };

function kafkaStream(config: Extract<Config["kafka"], { kind: "kafka" }>, breaker?: Breaker): StreamBackend {
  const { brokers, partitions, sessionTimeoutMs } = config;
  const requestTimeout = config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const connection = { brokers, connectionTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, requestTimeout };
  const kafka = new Kafka({ ...connection, clientId: "stockwire", logLevel: logLevel.NOTHING, retry: { retries: 8, ...RETRY } });
  // Produce and admin calls through the breaker (the consumer's fetch loop has its own retries and restarts, below).
  const guard = <T>(fn: () => Promise<T>) => (breaker ? breaker.execute(fn, () => true) : fn());
  const admin = kafka.admin();
  let producer: Producer | undefined;
  let adminReady: Promise<void> | undefined;
  const stops = new Set<() => Promise<void>>();
  const knownTopics = new Set<string>();

  const connectAdmin = () =>
    (adminReady ??= admin.connect().catch((e) => {
      adminReady = undefined;
      throw e;
    }));

  async function ensureTopics(topics: string[]) {
    const missing = topics.filter((t) => !knownTopics.has(t));
    if (!missing.length) return;
    await connectAdmin();
    // A topic that exists keeps its partition count: adding partitions would move keys, and a product's events out of order.
    await createTopicsAndWait(admin, missing, partitions);
    missing.forEach((t) => knownTopics.add(t));
  }

  async function publishNow(messages: StreamMessage[]) {
    const byTopic = new Map<string, StreamMessage[]>();
    for (const m of messages) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m]);
    await ensureTopics([...byTopic.keys()]);
    if (!producer) {
      // Idempotent: a retried send cannot duplicate or reorder within a partition.
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      producer = p;
    }
    await producer.sendBatch({
      acks: -1,
      timeout: requestTimeout,
      topicMessages: [...byTopic].map(([topic, ms]) => ({
        topic,
        messages: ms.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      })),
    });
  }

  return {
    kind: "kafka",
    describe: `${brokers.join(",")} via kafkajs`,
    publish: (messages) => (messages.length ? guard(() => publishNow(messages)) : Promise.resolve()),
    async consume({ groupId, topics, onBatch, onError = () => {} }) {
      await ensureTopics(topics);
      let stopped = false;
      let current: Consumer | undefined;
      let retry: NodeJS.Timeout | undefined;
      // The member a crashed consumer left behind in the group, to leave on its behalf (kafka-leave-group.ts).
      let orphan: string | undefined;

      const start = async () => {
        // Failover. A bridge that stops (SIGTERM) leaves the group and the others
        // take its partitions at their next heartbeat. One that dies without
        // leaving (SIGKILL, a lost node) holds its partitions until its session
        // expires: sessionTimeoutMs (KAFKA_SESSION_TIMEOUT_MS). Heartbeats come
        // several times per session, so the survivors learn of a rebalance
        // quickly; a member stuck in a rebalance is dropped after 10 s, not
        // kafkajs' 60 s. A consumer that crashed (a broker restart) is replaced
        // below, after its old membership is ended, so that one does not wait.
        const heartbeatInterval = Math.max(100, Math.min(1_000, Math.floor(sessionTimeoutMs / 6)));
        const consumer = kafka.consumer({
          groupId,
          // How long an idle fetch waits on the broker (data ends the wait at once). kafkajs
          // heartbeats between fetches, so no longer than the heartbeat interval; longer than
          // 100 ms, as this was, because an idle bridge's polling is CPU an API process shares.
          maxWaitTimeInMs: Math.min(500, heartbeatInterval),
          sessionTimeout: sessionTimeoutMs,
          heartbeatInterval,
          rebalanceTimeout: 10_000,
          // kafkajs' own restart would forget the member id: replace() restarts instead.
          retry: { retries: 10, ...RETRY, restartOnFailure: async () => false },
        });
        current = consumer;
        let memberId: string | undefined;
        consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => (memberId = payload.memberId));
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          onError(new Error(`Kafka consumer (group ${groupId}) crashed, restarting: ${payload.error.message}`));
          if (current !== consumer) return;
          orphan = memberId;
          replace(0);
        });
        try {
          await consumer.connect();
          await consumer.subscribe({ topics, fromBeginning: true });
          await consumer.run({
            // Each partition's batches in order, the partitions side by side: one
            // partition's publish and commit round trips do not delay the others.
            partitionsConsumedConcurrently: partitions,
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
              if (!batch.messages.length || !isRunning() || isStale()) return;
              await onBatch(
                batch.messages.map((m) => ({
                  topic: batch.topic,
                  key: m.key?.toString() ?? "",
                  value: m.value?.toString() ?? "",
                  headers: m.headers && Object.keys(m.headers).length ? textHeaders(m.headers) : undefined,
                })),
              );
              // Resolving moves this consumer's fetch position; committing makes it
              // survive a restart. Both only after the handler succeeded.
              resolveOffset(batch.lastOffset());
              const next = (BigInt(batch.lastOffset()) + 1n).toString();
              await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
              await heartbeat();
            },
          });
        } catch (err) {
          await consumer.disconnect().catch(() => {});
          throw err;
        }
      };

      // A crashed consumer is replaced by a fresh one, with backoff, until one
      // runs: a bridge must never sit idle while Kafka is up. While the brokers
      // are down, ending the old membership fails and the next attempt retries.
      const replace = (attempt: number) => {
        const failed = current;
        current = undefined;
        if (stopped) return;
        // One replacement at a time: a consumer that crashes while its start also fails reports twice.
        if (retry) return void failed?.disconnect().catch(() => {});
        retry = setTimeout(
          async () => {
            retry = undefined;
            await failed?.disconnect().catch(() => {});
            if (stopped) return;
            try {
              // Unreachable brokers throw: the next attempt tries again. A refusal starts without it.
              if (orphan && !(await leaveGroupFor(connection, groupId, orphan))) {
                onError(
                  new Error(`Kafka group ${groupId}: could not end the crashed consumer's membership; its partitions wait for its session`),
                );
              }
              orphan = undefined;
              await start();
            } catch (err) {
              onError(err);
              replace(attempt + 1);
            }
          },
          Math.min(100 * 2 ** attempt, RETRY.maxRetryTime),
        );
      };

      await start();
      const stop = async () => {
        stopped = true;
        clearTimeout(retry);
        const consumer = current;
        current = undefined;
        stops.delete(stop);
        await consumer?.disconnect();
      };
      stops.add(stop);
      return { stop };
    },
    consumerLag: (groupId, topics) => guard(() => lagOf(groupId, topics)),
    async ping() {
      await guard(async () => {
        await connectAdmin();
        await admin.describeCluster();
      });
    },
    async close() {
      await Promise.allSettled([...stops].map((stop) => stop()));
      await Promise.allSettled([producer?.disconnect(), admin.disconnect()]);
    },
  };

  async function lagOf(groupId: string, topics: string[]) {
    await connectAdmin();
    const [ends, committed] = await Promise.all([
      Promise.all(topics.map(async (topic) => ({ topic, partitions: await admin.fetchTopicOffsets(topic) }))),
      admin.fetchOffsets({ groupId, topics }),
    ]);
    return ends.flatMap(({ topic, partitions }) =>
      partitions.map((p) => {
        const offset = committed.find((c) => c.topic === topic)?.partitions.find((c) => c.partition === p.partition)?.offset;
        // Nothing committed yet ("-1"): the group starts from the beginning, i.e. the low watermark.
        const from = offset === undefined || Number(offset) < 0 ? Number(p.low) : Number(offset);
        return { topic, partition: p.partition, lag: Math.max(0, Number(p.high) - from) };
      }),
    );
  }
}

/**
 * Creates whichever of `topics` are missing, with `numPartitions` each, and
 * waits until every partition has a leader; resolves true when it created any.
 * Not kafkajs' waitForLeaders (on by default): it retries only
 * LEADER_NOT_AVAILABLE, and a broker busy creating partitions also answers
 * UNKNOWN_TOPIC_OR_PARTITION ("does not host this topic-partition") for a
 * while, which failed the start. createTopics also returns at once when another
 * process created the topic a moment ago. So: wait here, whatever the metadata
 * answers. Exported for the tests that create topics of their own.
 */
export async function createTopicsAndWait(admin: Admin, topics: string[], numPartitions: number): Promise<boolean> {
  const created = await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: false });
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (;;) {
    const { topics: meta } = await admin.fetchTopicMetadata({ topics }).catch(() => ({ topics: [] }));
    const ready = (t: string) => meta.find((m) => m.name === t)?.partitions.every((p) => p.leader >= 0) ?? false;
    if (topics.every(ready)) return created;
    if (Date.now() > deadline) throw new Error(`Kafka topics ${topics.join(", ")} have no partition leaders`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kafka header values (Buffers, possibly repeated) as text; the trace context needs no more. */
function textHeaders(headers: IHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

/**
 * In-process stand-in: a log per topic and a committed offset per consumer
 * group, so the relay and bridge behave as they do with Kafka (a handler that
 * throws sees the same messages again). A log keeps what a group that reads it
 * has not committed and the last `retain` messages before that (a group that
 * starts later begins there, as after Kafka's retention); older ones are
 * dropped: the embedded default kept every stock change it ever made.
 */
export function memoryStream(retain = 10_000): StreamBackend {
  /** Per topic: the messages from offset `base` on. */
  const logs = new Map<string, { base: number; messages: StreamMessage[] }>();
  const offsets = new Map<string, number>(); // `${group}\0${topic}` -> next offset
  const readers = new Map<string, Set<string>>(); // topic -> the groups that read it
  const logOf = (topic: string) => {
    let log = logs.get(topic);
    if (!log) logs.set(topic, (log = { base: 0, messages: [] }));
    return log;
  };
  const endOf = (topic: string) => {
    const log = logOf(topic);
    return log.base + log.messages.length;
  };
  /** Drops what every group reading `topic` has committed, but for the last `retain` of it. */
  const trim = (topic: string) => {
    const log = logOf(topic);
    // Every reader has an offset: consume() gives a group one when it first reads the topic.
    const committed = Math.min(...[...readers.get(topic)!].map((g) => offsets.get(`${g}\0${topic}`)!));
    const upTo = committed - retain;
    // Dropped in steps of at least `retain`, so the splice's cost stays per message, not per batch.
    if (upTo - log.base >= Math.max(retain, 1)) {
      log.messages.splice(0, upTo - log.base);
      log.base = upTo;
    }
  };
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const stops = new Set<() => Promise<void>>();

  return {
    kind: "memory",
    describe: "in-process",
    async publish(messages) {
      for (const m of messages) logOf(m.topic).messages.push(m);
      if (messages.length) appended.emit("append");
    },
    async consume({ groupId, topics, onBatch }) {
      for (const topic of topics) {
        readers.set(topic, (readers.get(topic) ?? new Set()).add(groupId));
        const key = `${groupId}\0${topic}`;
        if (!offsets.has(key)) offsets.set(key, logOf(topic).base);
      }
      let running = true;
      let pending = false;
      let loop: Promise<void> | undefined;
      const drainAll = async () => {
        await null; // yield first, so `loop` is assigned before it is cleared below
        while (pending && running) {
          pending = false;
          for (let progressed = true; progressed && running;) {
            progressed = false;
            for (const topic of topics) {
              const key = `${groupId}\0${topic}`;
              const log = logOf(topic);
              const from = offsets.get(key)!; // never below base: trim() keeps what this group has not committed
              const batch = log.messages.slice(from - log.base, from - log.base + 500);
              if (!batch.length || !running) continue;
              progressed = true;
              try {
                await onBatch(batch);
                offsets.set(key, from + batch.length);
                trim(topic);
              } catch {
                await new Promise((r) => setTimeout(r, 200)); // the same batch again, as Kafka would redeliver
              }
            }
          }
        }
        loop = undefined;
      };
      const wake = () => {
        pending = true;
        loop ??= drainAll();
      };
      appended.on("append", wake);
      wake();
      const stop = async () => {
        running = false;
        appended.off("append", wake);
        await loop;
      };
      stops.add(stop);
      return { stop };
    },
    async consumerLag(groupId, topics) {
      return topics.map((topic) => ({
        topic,
        partition: 0,
        lag: endOf(topic) - (offsets.get(`${groupId}\0${topic}`) ?? logOf(topic).base),
      }));
    },
    ping: async () => {},
    async close() {
      await Promise.all([...stops].map((s) => s()));
    },
  };
}
