// Bridge: consumes the stream (consumer group, scales out by partitions) and
// publishes each event to pub/sub, on the channel of its product or order.
// Offsets are committed only after the publishes resolved, so a bridge that
// dies mid-batch leaves the batch to be redelivered (duplicates are dropped
// by version at the subscription).
import type { PubSubBackend } from "./pubsub.js";
import type { StreamBackend } from "./stream.js";
import type { Topics } from "./stream-events.js";
import { orderStatusChannel, stockChannel } from "./channels.js";

export interface BridgeOptions {
  stream: StreamBackend;
  pubsub: PubSubBackend;
  topics: Topics;
  groupId: string;
  onError?: (err: unknown) => void;
}

export async function startBridge(opts: BridgeOptions): Promise<{ stop(): Promise<void> }> {
  const { stream, pubsub, topics, groupId, onError = () => {} } = opts;
  return stream.consume({
    groupId,
    topics: [topics.stockChanged, topics.orderStatusChanged],
    async onBatch(messages) {
      // One connection, commands in order: a product's events reach Redis in stream order.
      await Promise.all(
        messages.map((m) => {
          let event: { productId?: string; orderId?: string };
          try {
            event = JSON.parse(m.value);
          } catch (err) {
            onError(new Error(`dropping malformed message on ${m.topic} key ${m.key}: ${String(err)}`));
            return;
          }
          const channel = m.topic === topics.stockChanged ? stockChannel(event.productId!) : orderStatusChannel(event.orderId!);
          return pubsub.engine.publish(channel, event);
        }),
      );
    },
  });
}
