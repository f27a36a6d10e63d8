// A throwaway single-node Apache Kafka (KRaft, combined broker+controller)
// run straight from its Maven Central jars: there is no apt package and no
// Docker engine on our machines. The jars are fetched once by
// infra/kafka/pom.xml into .cache/kafka/<version>/ (git-ignored).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { ensureCommand, mavenDependencies } from "./install.js";
import { freePorts } from "./ports.js";
import { makeTempDir, restartable, run, spawnReady, type StartedService } from "./process.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const POM = path.join(root, "infra/kafka/pom.xml");

/** The broker version, from the pom (one place to bump it). */
export function kafkaVersion(): string {
  const match = /<artifactId>kafka_2\.13<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(readFileSync(POM, "utf8"));
  if (!match) throw new Error(`no kafka_2.13 version in ${POM}`);
  return match[1]!;
}

export interface KafkaOptions {
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

export async function startKafka(opts: KafkaOptions = {}): Promise<StartedService> {
  const log = opts.log ?? console.log;
  const version = kafkaVersion();
  const java = await ensureCommand("java", "openjdk-17-jre-headless", log);
  const jars = await mavenDependencies(POM, path.join(root, ".cache/kafka", version), log);
  const dir = await makeTempDir("stockwire-kafka-");
  try {
    const [port, controllerPort] = await freePorts(2);
    const props = path.join(dir.path, "server.properties");
    await writeFile(props, serverProperties(path.join(dir.path, "data"), port!, controllerPort!));
    const log4j = path.join(dir.path, "log4j.properties");
    await writeFile(log4j, log4jProperties(path.join(dir.path, "kafka.log")));
    const jvm = [
      "-Xmx512m",
      "-Xms256m",
      "-XX:+UseG1GC",
      "-XX:MaxGCPauseMillis=20",
      "-XX:+ExitOnOutOfMemoryError",
      "-Djava.awt.headless=true",
      `-Dlog4j.configuration=file:${log4j}`,
      "-cp",
      `${jars}/*`, // expanded by java itself, not a shell
    ];
    await run(java, [...jvm, "kafka.tools.StorageTool", "format", "-t", clusterId(), "-c", props], { cwd: dir.path });
    const broker = `127.0.0.1:${port}`;
    // Also what resume() runs: the formatted data dir and the ports are kept.
    const launch = () =>
      spawnReady(
        [
          "kafka",
          java,
          [...jvm, "kafka.Kafka", props],
          { cwd: dir.path, logFile: path.join(dir.path, "stdout.log"), errorLog: path.join(dir.path, "kafka.log"), graceMs: 15_000 },
        ],
        { what: `Kafka broker on ${broker}`, timeoutMs: opts.readyTimeoutMs ?? 90_000, probe: () => describeCluster(broker) },
      );
    return await restartable(dir, launch, ({ proc }) => ({
      url: broker,
      describe: `Apache Kafka ${version} KRaft (pid ${proc.pid}, dir ${dir.path})`,
    }));
  } catch (err) {
    await dir.remove();
    throw err;
  }
}

function serverProperties(logDir: string, port: number, controllerPort: number): string {
  return `${Object.entries({
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "log.dirs": logDir,
    "num.partitions": 3,
    "auto.create.topics.enable": true,
    "offsets.topic.replication.factor": 1,
    // 50 partitions by default; creating them delays the first consumer group join by seconds.
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 3,
    "group.initial.rebalance.delay.ms": 0,
    // Lets consumers ask for sessions shorter than Kafka's default floor of 6 s (KAFKA_SESSION_TIMEOUT_MS, fast failover).
    "group.min.session.timeout.ms": 1000,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

function log4jProperties(file: string): string {
  return [
    "log4j.rootLogger=INFO, file",
    "log4j.appender.file=org.apache.log4j.FileAppender",
    `log4j.appender.file.File=${file}`,
    "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
    "log4j.logger.kafka.request.logger=WARN",
    "log4j.logger.state.change.logger=WARN",
    "",
  ].join("\n");
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's Uuid format). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id; // Kafka avoids these too: they read as CLI flags
  }
}

async function describeCluster(broker: string): Promise<true | undefined> {
  const admin = new Kafka({
    clientId: "stockwire-services-probe",
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    return brokers.length > 0 ? true : undefined;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
