// docker-compose.yml cannot be run here (no Docker engine), so this checks its
// wiring instead: every service is health-checked, the api waits for the
// others to be healthy, and the api's URLs point at the hosts and ports those
// services really listen on, as the file itself configures them.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { kafkaVersion } from "../infra/services/kafka.js";
import { loadConfig } from "../src/config/config.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: number | string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
}

const compose = parse(readFileSync(path.join(root, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const svc = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

const env = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]))
    : Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? "")]));
const words = (x: string | string[] | undefined): string[] => (Array.isArray(x) ? x : (x ?? "").split(/\s+/)).filter(Boolean);
const healthcheck = (s: Service): string => words(s.healthcheck?.test).join(" ");
/** The value after `flag` in a command line, e.g. `--port 6379`. */
const option = (argv: string[], flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};

// The ports the services listen on, derived from the file (image defaults otherwise).
const postgresPort = Number(env(svc("postgres")).PGPORT ?? 5432);
const redisPort = Number(option(words(svc("redis").command), "--port") ?? 6379);
const kafkaEnv = env(svc("kafka"));
const listeners = (value = "") =>
  new Map(
    value.split(",").map((l) => {
      const m = /^(\w+):\/\/([^:]*):(\d+)$/.exec(l.trim());
      if (!m) throw new Error(`unparsable Kafka listener ${l}`);
      return [m[1]!, { host: m[2]!, port: Number(m[3]) }] as const;
    }),
  );

describe("docker-compose.yml", () => {
  it("has postgres, redis, kafka and the api, on the intended images", () => {
    expect(svc("postgres").image).toBe("postgres:16-alpine");
    expect(svc("redis").image).toBe("redis:7-alpine");
    // The same broker version our tests run against (infra/kafka/pom.xml).
    expect(svc("kafka").image).toBe(`apache/kafka:${kafkaVersion()}`);
    expect(svc("api").build).toBeDefined();
  });

  it("health-checks every service", () => {
    for (const name of Object.keys(compose.services)) {
      const check = svc(name).healthcheck;
      expect(check?.disable, name).not.toBe(true);
      expect(healthcheck(svc(name)), name).toMatch(/^CMD(-SHELL)? \S/);
    }
    // ...and each check probes the port the service listens on.
    expect(healthcheck(svc("postgres"))).toMatch(new RegExp(`pg_isready .*-p ${postgresPort}\\b`));
    expect(healthcheck(svc("redis"))).toMatch(new RegExp(`redis-cli .*-p ${redisPort} ping`));
    expect(healthcheck(svc("kafka"))).toMatch(/\/opt\/kafka\/bin\/kafka-broker-api-versions\.sh --bootstrap-server \S+:\d+/);
    expect(healthcheck(svc("api"))).toMatch(/fetch\('http:\/\/127\.0\.0\.1:4000\/ready'\)/);
  });

  it("starts the api only once the others are healthy", () => {
    const deps = svc("api").depends_on;
    expect(deps).not.toBeInstanceOf(Array); // the short list form cannot wait for health
    for (const name of ["postgres", "redis", "kafka"]) {
      expect((deps as Record<string, { condition?: string }>)[name]?.condition, name).toBe("service_healthy");
    }
  });

  it("publishes the api's port 4000, the port it is told to listen on", () => {
    expect(env(svc("api")).PORT).toBe("4000");
    const published = (svc("api").ports ?? []).map((p) =>
      typeof p === "object" ? `${p.published}:${p.target}` : String(p).split(":").slice(-2).join(":"),
    );
    expect(published).toContain("4000:4000");
  });

  it("points DATABASE_URL at the postgres service, its port and its credentials", () => {
    const url = new URL(env(svc("api")).DATABASE_URL!);
    const pg = env(svc("postgres"));
    expect(url.protocol).toBe("postgresql:");
    expect([url.hostname, Number(url.port || 5432)]).toEqual(["postgres", postgresPort]);
    expect([url.username, url.password, url.pathname]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`]);
  });

  it("points REDIS_URL at the redis service and its port", () => {
    const url = new URL(env(svc("api")).REDIS_URL!);
    expect(url.protocol).toBe("redis:");
    expect([url.hostname, Number(url.port || 6379)]).toEqual(["redis", redisPort]);
  });

  it("points KAFKA_BROKERS at kafka's advertised client listener, which it binds", () => {
    const advertised = listeners(kafkaEnv.KAFKA_ADVERTISED_LISTENERS);
    const bound = listeners(kafkaEnv.KAFKA_LISTENERS);
    const controller = kafkaEnv.KAFKA_CONTROLLER_LISTENER_NAMES;
    for (const broker of env(svc("api")).KAFKA_BROKERS!.split(",")) {
      const [host, port] = broker.trim().split(":");
      const match = [...advertised].find(([, a]) => a.host === host && a.port === Number(port));
      expect(match, `${broker} is an advertised listener`).toBeDefined();
      const [name] = match!;
      expect(name).not.toBe(controller);
      expect(host).toBe("kafka"); // the compose service name, resolvable from the api container
      expect(bound.get(name)?.port, `listener ${name} bound on ${port}`).toBe(Number(port));
    }
    // A combined single node must list itself as the only controller voter.
    expect(kafkaEnv.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${kafkaEnv.KAFKA_NODE_ID}@localhost:${bound.get(controller!)?.port}`);
    expect(kafkaEnv.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe("1");
  });

  it("runs the api, the outbox relay and the bridge as separate services of the same image and backends", () => {
    expect(env(svc("api")).STOCKWIRE_ROLES).toBe("api");
    expect(env(svc("relay")).STOCKWIRE_ROLES).toBe("relay");
    expect(env(svc("bridge")).STOCKWIRE_ROLES).toBe("bridge");
    for (const name of ["relay", "bridge"]) {
      expect(svc(name).build, name).toEqual(svc("api").build);
      for (const v of ["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "JWT_SECRET"])
        expect(env(svc(name))[v], `${name} ${v}`).toBe(env(svc("api"))[v]);
    }
  });

  it("does what its opening comment says: GraphiQL on a seeded catalogue, a read-only storefront, a token command in the image", () => {
    // ${VAR:-default} as compose expands it with VAR unset.
    const api = Object.fromEntries(Object.entries(env(svc("api"))).map(([k, v]) => [k, v.replace(/\$\{\w+:-([^}]*)\}/g, "$1")]));
    const config = loadConfig(api);
    expect(config.env).toBe("production");
    expect(config.introspection, "GraphiQL needs introspection").toBe(true);
    expect(config.seed, "the demo catalogue goes into the empty database").toBe(true);
    expect(config.demo, "no demo session: it answers loopback clients only, which a browser through Docker's port is not").toBe(false);
    expect(config.host).toBe("0.0.0.0"); // reachable through the published port
    expect(readFileSync(path.join(root, "docker-compose.yml"), "utf8")).toMatch(/docker compose exec api npm run token -- --role admin/);
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.token).toMatch(/scripts\/token\.ts/);
  });

  it("builds the api from a Dockerfile that installs, generates the Prisma client and runs the app", () => {
    const build = svc("api").build!;
    const context = typeof build === "string" ? build : (build.context ?? ".");
    const file = path.join(root, context, (typeof build === "object" && build.dockerfile) || "Dockerfile");
    expect(existsSync(file)).toBe(true);
    const dockerfile = readFileSync(file, "utf8");
    expect(dockerfile).toMatch(/^FROM node:22-slim\b/m);
    expect(dockerfile).toMatch(/^RUN .*\bnpm ci\b/m);
    expect(dockerfile).toMatch(/^RUN .*npm run prisma:generate\b.*npm run build\b/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--enable-source-maps", "dist\/main\.js"\]/m);
    // Whatever the app needs at run time is not excluded from the build context.
    const ignored = readFileSync(path.join(root, context, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim());
    for (const needed of ["src", "prisma", "package.json", "package-lock.json", "scripts"]) expect(ignored).not.toContain(needed);
  });

  describe("observability profile", () => {
    const prometheus = svc("prometheus") as Service & { profiles?: string[]; volumes?: string[] };
    const grafana = svc("grafana") as Service & { profiles?: string[]; volumes?: string[] };
    const mounted = (s: { volumes?: string[] }, target: string) => {
      const v = (s.volumes ?? []).find((v) => v.split(":")[1] === target);
      if (!v) throw new Error(`nothing mounted at ${target}`);
      const source = path.join(root, v.split(":")[0]!);
      expect(existsSync(source), source).toBe(true);
      return source;
    };

    it("runs Prometheus and Grafana only with --profile observability", () => {
      expect(prometheus.profiles).toEqual(["observability"]);
      expect(grafana.profiles).toEqual(["observability"]);
      for (const name of ["postgres", "redis", "kafka", "api", "relay", "bridge"]) {
        expect((svc(name) as { profiles?: string[] }).profiles, name).toBeUndefined();
      }
    });

    it("scrapes the api on its port and the relay and bridge on their METRICS_PORT, with the alert rules loaded", () => {
      const config = parse(readFileSync(mounted(prometheus, "/etc/prometheus/prometheus.yml"), "utf8")) as {
        rule_files: string[];
        scrape_configs: { job_name: string; metrics_path?: string; dns_sd_configs: { names: string[]; port: number }[] }[];
      };
      const ports = new Map(
        config.scrape_configs.flatMap((j) => j.dns_sd_configs.flatMap((d) => d.names.map((n) => [n, d.port] as const))),
      );
      expect(ports.get("api")).toBe(Number(env(svc("api")).PORT));
      for (const name of ["relay", "bridge"]) expect(ports.get(name), name).toBe(Number(env(svc(name)).METRICS_PORT));
      for (const job of config.scrape_configs) expect(job.metrics_path ?? "/metrics").toBe("/metrics");
      for (const file of config.rule_files) mounted(prometheus, file);
    });

    it("provisions Grafana's Prometheus data source and the dashboard from the repository", () => {
      const provisioning = mounted(grafana, "/etc/grafana/provisioning");
      const datasources = parse(readFileSync(path.join(provisioning, "datasources/prometheus.yml"), "utf8")) as {
        datasources: { uid: string; url: string }[];
      };
      const promPort = /--web\.listen-address=:(\d+)/.exec(words(prometheus.command).join(" "))?.[1];
      expect(datasources.datasources[0]!.url).toBe(`http://prometheus:${promPort}`);
      const providers = parse(readFileSync(path.join(provisioning, "dashboards/stockwire.yml"), "utf8")) as {
        providers: { options: { path: string } }[];
      };
      const dashboards = mounted(grafana, providers.providers[0]!.options.path);
      const dashboard = JSON.parse(readFileSync(path.join(dashboards, "stockwire.json"), "utf8")) as {
        panels: { datasource: { uid: string } }[];
      };
      for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe(datasources.datasources[0]!.uid);
    });
  });
});
