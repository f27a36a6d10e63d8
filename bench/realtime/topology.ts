// Stockwire as the scenario runs it. single: one process with every role
// (api, relay, bridge), as `npm start` runs it. split: api in one process,
// relay + bridge in another, as docker-compose runs them apart. Fresh Kafka
// topics and bridge group per scenario. With --kafka-clients, the relay +
// bridge process is replaced by one on another client between phases: same
// topics and group (the clients share a group), the API and its subscribers stay.
import { mkdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { startApi, type ApiProcess } from "../lib/api.js";
import type { Party } from "../lib/cpu.js";
import type { KafkaClient } from "../lib/kafka-client.js";
import type { RunContext } from "./run-context.js";
import type { Scenario } from "./scenarios.js";

export interface Stockwire {
  api: ApiProcess;
  pipeline?: ApiProcess;
  stream: { topic: string; group: string };
  /** KAFKA_CLIENT of the process running relay and bridge. */
  kafkaClient: KafkaClient;
  /** split only: stops the relay + bridge process and starts a fresh one on `client`. */
  restartPipeline(client: KafkaClient): Promise<void>;
  parties: Record<string, Party | undefined>;
  /** Throws if a process crashed or got a signal the bench did not send. */
  alive(): void;
  profileAt(what: string): void;
  stop(): Promise<void>;
}

export async function startStockwire(run: RunContext, scenario: Scenario): Promise<Stockwire> {
  const { h, opts, services } = run;
  const prefix = `bench.${h.runId}.${scenario.no}`;
  let kafkaClient = opts.kafkaClients[0]!;
  const streamEnv = {
    REDIS_URL: services.redis.url,
    KAFKA_BROKERS: services.kafka!.url,
    KAFKA_TOPIC_STOCK: `${prefix}.stock-changed`,
    KAFKA_TOPIC_ORDER_STATUS: `${prefix}.order-status-changed`,
    KAFKA_BRIDGE_GROUP: `${prefix}.bridge`,
    KAFKA_CLIENT: kafkaClient,
  };
  const processes: ApiProcess[] = [];
  const stop = h.deferred(async () => {
    await Promise.all(processes.map((p) => p.stop()));
  });
  if (run.cpuProfDir) mkdirSync(run.cpuProfDir, { recursive: true });
  const startedAt = performance.now();
  const common = { databaseUrl: run.databaseUrl, jwtSecret: run.seed.jwtSecret };
  const api = await startApi({
    ...common,
    poolSize: opts.pool,
    cpuProfDir: run.cpuProfDir,
    memoryProbe: true,
    env: { ...streamEnv, STOCKWIRE_ROLES: scenario.topology === "single" ? "api,relay,bridge" : "api" },
  });
  processes.push(api);
  const startPipeline = () =>
    startApi({
      ...common,
      poolSize: 5,
      // Profiled too with --cpu-prof (its offsets are the API's, give or take its start-up).
      cpuProfDir: run.cpuProfDir,
      env: { ...streamEnv, KAFKA_CLIENT: kafkaClient, STOCKWIRE_ROLES: "relay,bridge" },
      readyLine: /^stockwire: bridge/m,
    });
  let pipeline: ApiProcess | undefined;
  if (scenario.topology === "split") {
    pipeline = await startPipeline();
    processes.push(pipeline);
  }
  h.log(
    `API ${api.url} (pid ${api.pid}, roles ${scenario.topology === "single" ? "api,relay,bridge" : "api"})` +
      (pipeline ? `; relay + bridge pid ${pipeline.pid}` : "") +
      `; KAFKA_CLIENT=${kafkaClient}`,
  );
  // The phases read CPU from this object: a restarted pipeline process is put in place here.
  const parties: Record<string, Party | undefined> = {
    api: { pid: api.pid },
    pipeline: pipeline ? { pid: pipeline.pid } : undefined,
    pg: services.postgres.pid ? { pid: services.postgres.pid, tree: true } : undefined,
    kafka: services.kafka?.pid ? { pid: services.kafka.pid } : undefined,
    redis: services.redis.pid ? { pid: services.redis.pid } : undefined,
  };
  return {
    api,
    get pipeline() {
      return pipeline;
    },
    stream: { topic: streamEnv.KAFKA_TOPIC_STOCK, group: `${prefix}.tap` },
    get kafkaClient() {
      return kafkaClient;
    },
    async restartPipeline(client) {
      if (!pipeline) throw new Error("a relay + bridge process of its own needs --topology split");
      const old = pipeline;
      processes.splice(processes.indexOf(old), 1);
      await old.stop();
      kafkaClient = client;
      pipeline = await startPipeline();
      processes.push(pipeline);
      parties.pipeline = { pid: pipeline.pid };
      h.log(`relay + bridge on ${client}: pid ${pipeline.pid} (pid ${old.pid} stopped)`);
    },
    parties,
    alive() {
      for (const p of processes) {
        const signalled = /^stockwire: (SIG\w+): stopping/m.exec(p.logTail())?.[1];
        if (p.exitedAs() || signalled) {
          throw new Error(
            `a Stockwire process (pid ${p.pid}) stopped during the benchmark ` +
              `(${signalled ? `${signalled} from outside the benchmark` : p.exitedAs()}); its log:\n${p.logTail()}`,
          );
        }
      }
    },
    profileAt: (what) => run.cpuProfDir && h.log(`${what}: API profile offset ~${((performance.now() - startedAt) / 1000).toFixed(1)} s`),
    stop,
  };
}
