// The Kafka stream backend on @platformatic/kafka (KAFKA_CLIENT=platformatic),
// the twin of the kafkajs one in stream.ts with the same contract: idempotent
// producer with acks from all in-sync replicas, keys on the partitions kafkajs
// (and Java) put them on, offsets committed only after the handler finished,
// each partition handled in order and the partitions side by side.
//
// Differences that shape this file: the consumer is a stream of single
// messages, not batches, so messages are queued per partition here and each
// queue is handed to onBatch as one batch. The consumer keeps its member id
// across a broken stream, so a failed stream is replaced on the same consumer
// (no orphaned member to end, unlike kafka-leave-group.ts); the library needs
// no patch.
import {
  Admin,
  Consumer,
  ListOffsetTimestamps,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  compatibilityPartitioner,
  stringDeserializers,
  stringSerializers,
  type Message,
  type MessagesStream,
} from "@platformatic/kafka";
import type { Config } from "../config/config.js";
import type { Breaker } from "../observability/breakers.js";
import type { ConsumeOptions, StreamBackend, StreamMessage } from "./stream.js";

type KafkaConfig = Extract<Config["kafka"], { kind: "kafka" }>;
type StringMessage = Message<string, string, string, string>;

const TOPIC_READY_TIMEOUT_MS = 30_000;
/** Messages fetched but not yet handled, past which fetching pauses. */
const MAX_QUEUED = 2_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/** How long stopping a consumer waits for its close (commits in flight, LeaveGroup). */
const STOP_TIMEOUT_MS = 10_000;

/** The longest wait between reconnects (100 ms doubling): a broker back is in use again within this. */
const MAX_RETRY_DELAY_MS = 500;
const retryDelay = (_client: unknown, _op: string, attempt: number) => Math.min(100 * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);

export function platformaticStream(config: KafkaConfig, breaker?: Breaker): StreamBackend {
  const { brokers, partitions, sessionTimeoutMs } = config;
  const base = {
    clientId: "stockwire",
    bootstrapBrokers: brokers,
    connectTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    requestTimeout: config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    timeout: config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retryDelay,
  };
  const guard = <T>(fn: () => Promise<T>) => (breaker ? breaker.execute(fn, () => true) : fn());
  const admin = new Admin({ ...base, retries: 8 });
  let producer: Producer<string, string, string, string> | undefined;
  const stops = new Set<() => Promise<void>>();
  const knownTopics = new Set<string>();

  async function ensureTopics(topics: string[]) {
    const missing = topics.filter((t) => !knownTopics.has(t));
    if (!missing.length) return;
    await createTopicsAndWaitPlatformatic(admin, missing, partitions);
    missing.forEach((t) => knownTopics.add(t));
  }

  async function publishNow(messages: StreamMessage[]) {
    await ensureTopics([...new Set(messages.map((m) => m.topic))]);
    producer ??= new Producer({
      ...base,
      // Idempotent: a retried send cannot duplicate or reorder within a partition (the library retries it without end unless told).
      idempotent: true,
      retries: 8,
      maxInflights: 1,
      acks: ProduceAcks.ALL,
      // Java's (and kafkajs') murmur2 mapping: a switch of client keeps every product on its partition.
      partitioner: compatibilityPartitioner,
      serializers: stringSerializers,
    });
    await producer.send({
      messages: messages.map((m) => ({ topic: m.topic, key: m.key, value: m.value, headers: m.headers })),
    });
  }

  return {
    kind: "kafka",
    describe: `${brokers.join(",")} via @platformatic/kafka`,
    publish: (messages) => (messages.length ? guard(() => publishNow(messages)) : Promise.resolve()),
    async consume(options) {
      await ensureTopics(options.topics);
      const group = groupConsumer(base, sessionTimeoutMs, options);
      await group.start();
      const stop = async () => {
        stops.delete(stop);
        await group.stop();
      };
      stops.add(stop);
      return { stop };
    },
    consumerLag: (groupId, topics) => guard(() => lagOf(admin, groupId, topics)),
    async ping() {
      await guard(() => admin.metadata({ topics: [], forceUpdate: true }));
    },
    async close() {
      await Promise.allSettled([...stops].map((stop) => stop()));
      await bounded(Promise.allSettled([producer?.close(), admin.close()]));
    },
  };
}

type BaseOptions = ConstructorParameters<typeof Admin>[0];

/**
 * One consumer in `groupId`: a stream of its assigned partitions' messages,
 * queued per partition; each partition's queue is handled by one loop at a
 * time (onBatch, then commit), a failed batch is retried in place, and a
 * stream that breaks is replaced on the same consumer (same member id).
 */
function groupConsumer(base: BaseOptions, sessionTimeoutMs: number, { groupId, topics, onBatch, onError = () => {} }: ConsumeOptions) {
  const heartbeatInterval = Math.max(100, Math.min(1_000, Math.floor(sessionTimeoutMs / 6)));
  const consumer = new Consumer({
    ...base,
    groupId,
    retries: 10,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval,
    // A member stuck in a rebalance is dropped after 10 s, as in the kafkajs backend (the library refuses less than the session).
    rebalanceTimeout: Math.max(10_000, sessionTimeoutMs),
    // Fetching has connections of its own here, so idle fetches may wait longer than a heartbeat.
    maxWaitTime: 500,
    // kafkajs' round-robin protocol, by its name: a group admits only members
    // with a protocol in common, so bridges on either client share one group
    // (a rolling switch of KAFKA_CLIENT). The assignment itself is the same.
    protocols: [{ name: "RoundRobinAssigner", version: 0 }],
    deserializers: stringDeserializers,
  });
  const queues = new Map<string, StringMessage[]>();
  const running = new Map<string, Promise<void>>();
  let queued = 0;
  let stream: MessagesStream<string, string, string, string> | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  // The consumer itself emits "error" when it cannot rejoin its group after a failed heartbeat (a
  // closed connection, say): unheard, that is an uncaught exception. Heard, it is reported and the
  // stream replaced, which joins the group again.
  consumer.on("error", (err: unknown) => {
    if (stopped) return;
    onError(new Error(`Kafka consumer (group ${groupId}) lost its group, rejoining: ${String(err)}`));
    reopen(0);
  });

  const owns = (topic: string, partition: number) =>
    consumer.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false;

  async function drain(key: string) {
    const queue = queues.get(key)!;
    await new Promise(setImmediate); // the rest of the fetch's messages join this batch
    for (let failures = 0; queue.length && !stopped;) {
      // Everything queued so far is one batch; a failed batch is retried as it was (newer messages wait behind it).
      const batch = queue.slice();
      const last = batch[batch.length - 1]!;
      try {
        await onBatch(batch.map(toStreamMessage));
        await consumer.commit({
          offsets: [{ topic: last.topic, partition: last.partition, offset: last.offset + 1n, leaderEpoch: last.leaderEpoch }],
        });
        queue.splice(0, batch.length);
        release(batch.length);
        failures = 0;
      } catch (err) {
        onError(err);
        // Not ours any more (a rebalance): the new owner starts from the last commit.
        if (!owns(last.topic, last.partition)) {
          release(queue.splice(0).length);
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** failures++, 1_000)));
      }
    }
    running.delete(key);
  }

  const release = (n: number) => {
    queued -= n;
    if (queued < MAX_QUEUED / 2) stream?.resume();
  };

  const onMessage = (m: StringMessage) => {
    const key = `${m.topic}\0${m.partition}`;
    let queue = queues.get(key);
    if (!queue) queues.set(key, (queue = []));
    queue.push(m);
    if (++queued >= MAX_QUEUED) stream?.pause();
    if (!running.has(key)) running.set(key, drain(key));
  };

  async function open() {
    const s = await consumer.consume({
      topics,
      autocommit: false,
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    });
    stream = s;
    s.on("data", onMessage);
    s.on("error", (err: unknown) => {
      if (stream !== s || stopped) return;
      onError(new Error(`Kafka consumer (group ${groupId}) failed, restarting: ${String(err)}`));
      reopen(0);
    });
  }

  // A broken stream is replaced, with backoff, until one runs: the bridge must not sit idle while Kafka is up.
  function reopen(attempt: number) {
    const old = stream;
    stream = undefined;
    if (stopped || retry) return;
    retry = setTimeout(
      async () => {
        retry = undefined;
        await old?.close().catch(() => {});
        if (stopped) return;
        try {
          await open();
        } catch (err) {
          onError(err);
          reopen(attempt + 1);
        }
      },
      Math.min(100 * 2 ** attempt, MAX_RETRY_DELAY_MS),
    );
  }

  return {
    start: open,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      const closing = (async () => {
        await stream?.close().catch(() => {});
        await Promise.allSettled(running.values());
        // Leaves the group (LeaveGroup), so the other members take its partitions at their next heartbeat.
        await consumer.close(true);
      })();
      await bounded(closing);
    },
  };
}

/**
 * Waits for a close at most STOP_TIMEOUT_MS, then goes on without it: a client whose broker went away
 * may retry its way through close for minutes (platformatic/kafka#408), and shutting down must end.
 */
async function bounded(closing: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)));
  await Promise.race([
    closing.then(
      () => {},
      () => {},
    ),
    late,
  ]);
  clearTimeout(timer);
}

function toStreamMessage(m: StringMessage): StreamMessage {
  return {
    topic: m.topic,
    key: m.key ?? "",
    value: m.value ?? "",
    headers: m.headers.size ? Object.fromEntries(m.headers) : undefined,
  };
}

/** As createTopicsAndWait in stream.ts: the missing topics created, then every partition with a leader. */
async function createTopicsAndWaitPlatformatic(admin: Admin, topics: string[], numPartitions: number): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  // Another process may create one a moment before us: TOPIC_ALREADY_EXISTS is success here.
  if (missing.length) await admin.createTopics({ topics: missing, partitions: numPartitions }).catch(ignoreAlreadyExists);
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (;;) {
    const meta = await admin.metadata({ topics, forceUpdate: true }).catch(() => undefined);
    const ready = (t: string) => meta?.topics.get(t)?.partitions.every((p) => p.leader >= 0) ?? false;
    if (topics.every(ready)) return;
    if (Date.now() > deadline) throw new Error(`Kafka topics ${topics.join(", ")} have no partition leaders`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function ignoreAlreadyExists(err: unknown) {
  if (!/already exists|TOPIC_ALREADY_EXISTS/i.test(errorText(err))) throw err;
}

function errorText(err: unknown): string {
  const e = err as { message?: string; errors?: unknown[]; cause?: unknown } | undefined;
  return [e?.message ?? String(err), ...(e?.errors ?? []).map(errorText), e?.cause ? errorText(e.cause) : ""].join(" ");
}

async function lagOf(admin: Admin, groupId: string, topics: string[]) {
  const meta = await admin.metadata({ topics });
  const request = (timestamp: bigint) =>
    admin.listOffsets({
      topics: topics.map((name) => ({
        name,
        partitions: Array.from({ length: meta.topics.get(name)?.partitionsCount ?? 0 }, (_, partitionIndex) => ({
          partitionIndex,
          timestamp,
        })),
      })),
    });
  const [ends, starts, [committed]] = await Promise.all([
    request(ListOffsetTimestamps.LATEST),
    request(ListOffsetTimestamps.EARLIEST),
    admin.listConsumerGroupOffsets({
      groups: [{ groupId, topics: topics.map((name) => ({ name, partitionIndexes: partitionsOf(meta, name) })) }],
    }),
  ]);
  return ends.flatMap((t) =>
    t.partitions.map((p) => {
      const low = starts.find((s) => s.name === t.name)?.partitions.find((s) => s.partitionIndex === p.partitionIndex)?.offset ?? 0n;
      const offset = committed?.topics
        .find((c) => c.name === t.name)
        ?.partitions.find((c) => c.partitionIndex === p.partitionIndex)?.committedOffset;
      // Nothing committed yet (-1): the group starts from the beginning, i.e. the low watermark.
      const from = offset === undefined || offset < 0n ? low : offset;
      return { topic: t.name, partition: p.partitionIndex, lag: Math.max(0, Number(p.offset - from)) };
    }),
  );
}

const partitionsOf = (meta: Awaited<ReturnType<Admin["metadata"]>>, topic: string) =>
  Array.from({ length: meta.topics.get(topic)?.partitionsCount ?? 0 }, (_, i) => i);
