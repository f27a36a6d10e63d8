// The socket-floor part of a scenario: socket-floor-server.ts in its own
// process (like the API), fed the scenario's events over the same Redis
// channels, with the same subscribers on the same products.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { makeTempDir } from "../../infra/services/process.js";
import { startNodeProcess, type NodeProcess } from "../lib/node-process.js";
import type { Redis } from "ioredis";
import { floorPhase } from "./floor-phase.js";
import type { PhaseContext } from "./phase.js";
import { runPart } from "./part.js";
import type { PartResult } from "./results.js";
import type { RunContext } from "./run-context.js";
import type { Scenario } from "./scenarios.js";
import type { SocketFloorConfig } from "./socket-floor-server.js";

async function startSocketFloor(run: RunContext, scenario: Scenario): Promise<NodeProcess> {
  const [versions, stocks] = await Promise.all([run.seed.versions(), run.seed.stocks()]);
  const config: SocketFloorConfig = {
    redisUrl: run.services.redis.url,
    products: run.seed.products.map((p, i) => ({ gid: p.gid, sku: p.sku, stock: stocks[i]!, version: versions[i]! })),
    maxUpdatesPerSecond: scenario.maxUpdatesPerSecond,
  };
  const dir = await makeTempDir("stockwire-bench-floor-config-");
  run.h.onCleanup(() => dir.remove());
  const file = path.join(dir.path, "socket-floor.json");
  await writeFile(file, JSON.stringify(config));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production" };
  delete env.NODE_OPTIONS;
  return startNodeProcess({
    name: "socket-floor",
    script: "bench/realtime/socket-floor-server.ts",
    args: [file],
    env,
    memoryProbe: true,
    // With --cpu-prof the floor is profiled too: where its time goes is the other half of a comparison.
    cpuProfDir: run.cpuProfDir,
    ready: { what: "the socket floor to listen", match: (log) => /^socket-floor: listening on (ws:\/\/\S+)/m.exec(log)?.[1] },
  });
}

export async function socketFloorPart(run: RunContext, scenario: Scenario, watchers: number[]): Promise<PartResult> {
  const { h } = run;
  h.log(`--- socket floor: ${scenario.name}`);
  const server = await startSocketFloor(run, scenario);
  const startedAt = performance.now();
  const stop = h.deferred(() => server.stop());
  h.log(`socket floor ${server.url} (pid ${server.pid})`);
  try {
    return await runPart<PhaseContext & { publisher: Redis }>(
      run,
      scenario,
      watchers,
      {
        name: "socket-floor",
        server,
        serverParty: "floor",
        wsUrl: server.url,
        parties: {
          floor: { pid: server.pid },
          redis: run.services.redis.pid ? { pid: run.services.redis.pid } : undefined,
          pg: run.services.postgres.pid ? { pid: run.services.postgres.pid, tree: true } : undefined,
          kafka: run.services.kafka?.pid ? { pid: run.services.kafka.pid } : undefined,
        },
        alive: () => {
          if (server.exitedAs()) throw new Error(`the socket floor server stopped (${server.exitedAs()}); its log:\n${server.logTail()}`);
        },
        profileAt: (what) =>
          run.cpuProfDir && h.log(`${what}: socket-floor profile offset ~${((performance.now() - startedAt) / 1000).toFixed(1)} s`),
      },
      [(ctx, round) => floorPhase(ctx, "socket-floor", round)],
      (ctx) => ({ ...ctx, publisher: run.publisher }),
    );
  } finally {
    await stop();
  }
}
