// The Kubernetes manifests in deploy/, checked offline: every overlay renders
// (tests/support/kustomize.ts; compared with `kubectl kustomize` where kubectl
// is installed), every object validates against the Kubernetes schemas
// (kubernetes-models, @kubernetes-models/keda), each role's environment is
// one the config module accepts and runs that role, and the pieces fit
// together: probes, disruption budgets, Services, Ingress, HPA and KEDA.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { which } from "../../infra/services/install.js";
import { CONFIG_ENV_NAMES, loadConfig } from "../../src/config/config.js";
import { containersOf, renderKustomization, type K8sObject } from "../support/kustomize.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const overlays = readdirSync(path.join(root, "deploy/overlays"));

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/Ingress": Ingress,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
};

const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The environment a container gets: its env (secrets from the rendered Secret, or a stand-in) and its envFrom ConfigMaps. */
function containerEnv(objects: K8sObject[], container: ReturnType<typeof containersOf>[number]): Record<string, string> {
  const env: Record<string, string> = {};
  const byName = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  for (const from of container.envFrom ?? []) {
    const cm = byName("ConfigMap", from.configMapRef?.name);
    if (!cm) throw new Error(`envFrom ${JSON.stringify(from)}: not a rendered ConfigMap`);
    Object.assign(env, cm.data);
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = byName("Secret", ref.name);
      // Production creates the Secret outside the repository: a value of the right shape stands in.
      const standIn = e.name === "DATABASE_URL" ? "postgresql://u:p@db:5432/stockwire" : "x".repeat(32);
      const value = secret ? (secret.stringData?.[ref.key] ?? secret.data?.[ref.key]) : standIn;
      if (value !== undefined) env[e.name] = value;
    } else {
      env[e.name] = e.value;
    }
  }
  return env;
}

describe.each(overlays)("deploy/overlays/%s", (overlay) => {
  const dir = path.join(root, "deploy/overlays", overlay);
  const objects = renderKustomization(dir);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployments = of("Deployment");

  it.runIf(which("kubectl"))("renders as kubectl kustomize does", () => {
    const out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
    const theirs = parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
    const sort = (list: K8sObject[]) => [...list].sort((a, b) => id(a).localeCompare(id(b)));
    expect(sort(objects)).toEqual(sort(theirs));
  });

  it("validates every object against the Kubernetes (and KEDA) schemas", () => {
    const problems: string[] = [];
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      if (!Model) problems.push(`${id(o)}: no schema for ${o.apiVersion}`);
      else
        try {
          new Model(o).validate();
        } catch (err) {
          problems.push(`${id(o)}: ${(err as Error).message}`);
        }
    }
    expect(problems).toEqual([]);
    expect(new Set(objects.map(id)).size, "unique names").toBe(objects.length);
  });

  it("runs the api, relay and bridge roles, each with an environment the config module accepts", () => {
    const roles = deployments.map((d) => {
      const [container] = containersOf(d);
      const env = containerEnv(objects, container!);
      const unknown = Object.keys(env).filter((name) => !CONFIG_ENV_NAMES.includes(name));
      expect(unknown, `${id(d)}: variables the config module does not read`).toEqual([]);
      const config = loadConfig(env);
      expect(config.env).toBe("production");
      expect(config.database.kind, id(d)).toBe("postgres");
      expect(config.redis.kind, id(d)).toBe("redis");
      expect(config.kafka.kind, id(d)).toBe("kafka");
      expect(container!.image, `${id(d)}: the overlay names the image`).not.toBe("stockwire");
      return config.roles.join(",");
    });
    expect(roles.sort()).toEqual(["api", "bridge", "relay"]);
  });

  it("probes /ready and /health on a port the container serves, requests resources, and has a disruption budget", () => {
    for (const d of deployments) {
      const [c] = containersOf(d);
      const config = loadConfig(containerEnv(objects, c!));
      // The API answers on PORT; relay and bridge on METRICS_PORT.
      const port = config.roles.includes("api") ? config.port : config.metrics.port;
      const portName = c!.ports?.find((p: { containerPort: number }) => p.containerPort === port)?.name;
      expect(portName, `${id(d)}: a named port for ${port}`).toBeTruthy();
      expect(c!.readinessProbe?.httpGet, id(d)).toEqual({ path: "/ready", port: portName });
      expect(c!.livenessProbe?.httpGet, id(d)).toEqual({ path: "/health", port: portName });
      expect(Object.keys(c!.resources?.requests ?? {}).sort(), id(d)).toEqual(["cpu", "memory"]);
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${id(d)}: selector`).toBe(true);
      const pdbs = of("PodDisruptionBudget").filter((p) => matches(p.spec.selector.matchLabels, d.spec.template.metadata.labels));
      expect(pdbs.map(id), `${id(d)}: one PodDisruptionBudget`).toHaveLength(1);
    }
  });

  it("pods that prometheus.io annotations ask to be scraped get no METRICS_TOKEN from a Secret written here (those scrapes send none)", () => {
    const scraped = deployments.filter((d) => d.spec.template.metadata.annotations?.["prometheus.io/scrape"] === "true");
    expect(scraped.length).toBeGreaterThan(0);
    for (const d of scraped) {
      for (const c of containersOf(d)) {
        const ref = c.env?.find((e: { name: string }) => e.name === "METRICS_TOKEN")?.valueFrom?.secretKeyRef;
        const secret = ref && of("Secret").find((o) => o.metadata.name === ref.name);
        expect(secret?.stringData?.[ref.key] ?? secret?.data?.[ref.key], `${id(d)}: METRICS_TOKEN would 401 every scrape`).toBeUndefined();
      }
    }
  });

  it("routes the Ingress to the API's Service and pods, with WebSocket-length timeouts", () => {
    const api = deployments.find((d) => containerEnv(objects, containersOf(d)[0]!).STOCKWIRE_ROLES === "api")!;
    const [ingress] = of("Ingress");
    const backend = ingress!.spec.rules[0].http.paths[0].backend.service;
    const service = of("Service").find((s) => s.metadata.name === backend.name);
    expect(service, `Service ${backend.name}`).toBeDefined();
    expect(matches(service!.spec.selector, api.spec.template.metadata.labels)).toBe(true);
    const port = service!.spec.ports.find((p: { name: string }) => p.name === backend.port.name);
    expect(containersOf(api)[0]!.ports.map((p: { name: string }) => p.name)).toContain(port.targetPort);
    expect(Number(ingress!.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(3600);
  });

  it("scales the API on CPU and the bridge on its group's lag, up to one bridge per partition", () => {
    const byRole = (role: string) => deployments.find((d) => containerEnv(objects, containersOf(d)[0]!).STOCKWIRE_ROLES === role)!;
    const [hpa] = of("HorizontalPodAutoscaler");
    expect(hpa!.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: byRole("api").metadata.name });
    expect(hpa!.spec.metrics.map((m: { resource: { name: string } }) => m.resource.name)).toEqual(["cpu"]);
    // The HPA and KEDA own these counts: a replicas field would fight them on every apply.
    expect(byRole("api").spec.replicas).toBeUndefined();
    expect(byRole("bridge").spec.replicas).toBeUndefined();

    const bridge = byRole("bridge");
    const config = loadConfig(containerEnv(objects, containersOf(bridge)[0]!));
    const kafka = config.kafka;
    if (kafka.kind !== "kafka") throw new Error("bridge without Kafka");
    const [scaled] = of("ScaledObject");
    expect(scaled!.spec.scaleTargetRef.name).toBe(bridge.metadata.name);
    expect(scaled!.spec.maxReplicaCount, "max replicas = KAFKA_PARTITIONS").toBe(kafka.partitions);
    expect(scaled!.spec.triggers.map((t: { type: string; metadata: Record<string, string> }) => [t.type, t.metadata])).toEqual(
      [config.topics.stockChanged, config.topics.orderStatusChanged].map((topic) => [
        "kafka",
        expect.objectContaining({ topic, consumerGroup: config.bridgeGroup, bootstrapServers: kafka.brokers.join(",") }),
      ]),
    );
  });
});
