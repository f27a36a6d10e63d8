// One part of a scenario: a server (the API, or the socket floor) with the
// scenario's subscribers connected to it, its phases run round by round, then
// the subscribers' checks. Memory of the server is read before connecting,
// connected, and after everyone left again (live heap after a full GC).
import type { Party } from "../lib/cpu.js";
import type { NodeProcess } from "../lib/node-process.js";
import { processMemory } from "../lib/stats.js";
import { startClients } from "./clients.js";
import { sleep, type PhaseContext } from "./phase.js";
import type { ClientCheck, PartResult, PhaseResult } from "./results.js";
import type { RunContext } from "./run-context.js";
import { rng, type Scenario } from "./scenarios.js";
import { subscriptionFor } from "./subscription.js";

const MiB = 2 ** 20;

export interface PartTarget {
  name: PartResult["target"];
  /** The process that fans out (memory probe, CPU per delivery). */
  server: NodeProcess;
  /** Its party name in `parties`. */
  serverParty: string;
  /** ws://.../graphql */
  wsUrl: string;
  parties: Record<string, Party | undefined>;
  alive(): void;
  profileAt(what: string): void;
}

export type PhaseFn<C extends PhaseContext> = (ctx: C, round: number) => Promise<PhaseResult>;

export async function runPart<C extends PhaseContext>(
  run: RunContext,
  scenario: Scenario,
  watchers: number[],
  target: PartTarget,
  phases: PhaseFn<C>[],
  extend: (ctx: PhaseContext) => C,
): Promise<PartResult> {
  const { h, opts, seed } = run;
  await sleep(1000);
  const heapBefore = await target.server.memory();
  const rssBefore = processMemory(target.server.pid).rss;
  const benchRssBefore = process.memoryUsage.rss();
  const sub = subscriptionFor(scenario.maxUpdatesPerSecond, run.rateArgument);
  const clients = await startClients(h, {
    url: target.wsUrl,
    productGids: seed.products.map((p) => p.gid),
    assignments: scenario.assignments,
    threads: opts.threads,
    connectConcurrency: opts.connectConcurrency,
    query: sub.query,
    variables: sub.variables,
    rateLimit: scenario.maxUpdatesPerSecond,
  });
  h.log(`${target.name}: connecting ${scenario.subscribers} subscribers (${clients.threads.length} threads)`);
  const c = await clients.connect();
  h.log(
    `${target.name}: connected ${c.connected} of ${scenario.subscribers} in ${(c.ms / 1000).toFixed(1)} s` +
      (c.failures.length ? `; failures e.g. ${c.failures[0]}` : ""),
  );
  target.alive();
  await sleep(2000);
  const rssConnected = processMemory(target.server.pid).rss;
  const benchRssConnected = process.memoryUsage.rss();
  const heapConnected = await target.server.memory();
  const heapPerConnection =
    (heapConnected.heapUsed + heapConnected.external - heapBefore.heapUsed - heapBefore.external) / Math.max(1, c.connected);
  h.log(
    `${target.name}: heap + external after GC ${((heapBefore.heapUsed + heapBefore.external) / MiB).toFixed(1)} -> ${((heapConnected.heapUsed + heapConnected.external) / MiB).toFixed(1)} MiB ` +
      `= ${(heapPerConnection / 1024).toFixed(1)} KiB per connection; RSS ${(rssBefore / MiB).toFixed(0)} -> ${(rssConnected / MiB).toFixed(0)} MiB`,
  );

  const ctx = extend({
    h,
    opts,
    seed,
    scenario,
    watchers,
    tapTimes: run.tapTimes,
    clients,
    parties: target.parties,
    server: target.serverParty,
    alive: target.alive,
    // The same seed in both parts: the socket floor's events go to the same products, in the same order, as the pipeline's.
    random: rng(scenario.seed * 7 + 1),
    profileAt: target.profileAt,
  });
  const results: PhaseResult[] = [];
  for (let round = 1; round <= opts.rounds; round++) for (const phase of phases) results.push(await phase(ctx, round));

  const check = await clients.check(await seed.versions());
  const end = processMemory(target.server.pid);
  h.log(
    `${target.name}: checks: ${check.received} of ${check.expected} deliveries, ${check.missing} missing, ${check.notIncreasing} not increasing, ` +
      `${check.errors} errors, ${check.unexpectedCloses} unexpected closes ${JSON.stringify(check.closeCodes)}`,
  );
  await clients.close();
  await sleep(2000);
  const heapDisconnected = await target.server.memory().catch(() => undefined);
  const { pass, failures } = verdict(scenario, c.connected, results, check);
  return {
    target: target.name,
    connectMs: c.ms,
    connected: c.connected,
    connectFailures: c.failures,
    serverRss: { before: rssBefore, connected: rssConnected, end: end.rss, peak: end.peak },
    serverHeap: { before: heapBefore, connected: heapConnected, disconnected: heapDisconnected },
    heapPerConnection,
    benchRss: { before: benchRssBefore, connected: benchRssConnected },
    phases: results,
    check,
    pass,
    failures,
    logTail: pass ? undefined : target.server.logTail(),
  };
}

/**
 * Correctness, not speed: every subscriber connected and got its snapshot,
 * then every event of its products exactly once in version order (a
 * rate-limited subscription may skip versions but never goes back), the
 * final state reached everyone, no errors, no socket closed, no failed order.
 */
function verdict(scenario: Scenario, connected: number, phases: PhaseResult[], c: ClientCheck): { pass: boolean; failures: string[] } {
  const conflated = scenario.maxUpdatesPerSecond !== undefined;
  const failures = [
    connected < scenario.subscribers && `${scenario.subscribers - connected} subscribers did not connect`,
    !conflated && c.missing > 0 && `${c.missing} deliveries missing`,
    c.notIncreasing > 0 && `${c.notIncreasing} not in increasing version order`,
    c.noSnapshot > 0 && `${c.noSnapshot} subscriptions without a CURRENT snapshot first`,
    c.errors > 0 && `${c.errors} errors`,
    c.unexpectedCloses > 0 &&
      `${c.unexpectedCloses} sockets closed (${Object.entries(c.closeCodes)
        .map(([k, n]) => `${n} x ${k}`)
        .join(", ")})`,
    phases.some((p) => !p.drained) && "the final state did not reach every subscriber within --drain-timeout",
    phases.some((p) => p.orderErrors > 0) && `${phases.reduce((n, p) => n + p.orderErrors, 0)} failed orders`,
    phases.some((p) => p.unknownDeliveries > 0) && `${phases.reduce((n, p) => n + p.unknownDeliveries, 0)} deliveries of unknown events`,
  ].filter((f): f is string => typeof f === "string");
  return { pass: failures.length === 0, failures };
}
