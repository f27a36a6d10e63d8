// A crashed kafkajs consumer forgets its member id, and the one that replaces
// it joins the group as a new member. The group coordinator still counts the
// old member (after a broker restart it reloads the group with it) and keeps
// its partitions until its session expires, KAFKA_SESSION_TIMEOUT_MS: most of
// the time live stock stays frozen after Kafka comes back. Sending the
// LeaveGroup that the dead consumer could not send (what a clean shutdown
// sends) lets the replacement take the partitions at once.
//
// kafkajs has no public call for it. Its admin and consumers reach the
// coordinator through a Cluster that each Kafka instance builds with one
// private factory; this borrows that factory. kafkajs is pinned to 2.2.x,
// which is no longer developed, so the hook does not move; if it ever goes
// missing, the replacement just waits out the session as before.
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";

interface Coordinator {
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}
interface Cluster {
  connect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<Coordinator>;
}
type CreateCluster = (options: { metadataMaxAge?: number }) => Cluster;

/**
 * Resolves true once `memberId` is out of `groupId` (it left now, or the
 * coordinator no longer knows it), false when it cannot be done (this kafkajs
 * has no hook, or the coordinator refuses for good): the replacement then
 * waits out the old session. Rejects while the brokers cannot be reached (or
 * the coordinator is still loading after 2 s), for the caller to try again.
 */
export async function leaveGroupFor(
  config: Pick<KafkaConfig, "brokers" | "connectionTimeout">,
  groupId: string,
  memberId: string,
): Promise<boolean> {
  // Unreachable brokers are not retried here (retries: 0): the caller owns that backoff.
  const kafka = new Kafka({ ...config, clientId: "stockwire-leave-group", logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const hook = Object.getOwnPropertySymbols(kafka).find((s) => s.description === "private:Kafka:createCluster");
  const create = hook && (kafka as unknown as Record<symbol, CreateCluster | undefined>)[hook];
  if (typeof create !== "function") return false;
  const cluster = create({});
  try {
    await cluster.connect();
    await cluster.refreshMetadata(); // the brokers to ask for the coordinator
    // A broker that just came back answers "coordinator loading" for a moment: ask again soon.
    for (let attempt = 1; ; attempt++) {
      try {
        const coordinator = await cluster.findGroupCoordinator({ groupId });
        await coordinator.leaveGroup({ groupId, memberId });
        break;
      } catch (err) {
        const refusal = protocolError(err);
        // Not an answer from Kafka (a broker unreachable): the caller tries again later.
        if (!refusal) throw err;
        // Gone already: its session expired, or the group was emptied meanwhile.
        if (refusal.type === "UNKNOWN_MEMBER_ID") return true;
        if (!refusal.retriable) return false;
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await cluster.disconnect().catch(() => {});
  }
  return true;
}

/** The Kafka error code behind an error, if Kafka answered (kafkajs wraps it in its retry errors). */
function protocolError(err: unknown): { type: string; retriable: boolean } | undefined {
  for (let e = err as { type?: unknown; retriable?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.type === "string") return { type: e.type, retriable: e.retriable === true };
  }
  return undefined;
}
