// Bridge: consumes the stream (consumer group, scales out by partitions) and
// publishes each event to pub/sub, on the channel of its product or order.
// Offsets are committed only after the publishes resolved, so a bridge that
// dies mid-batch leaves the batch to be redelivered (duplicates are dropped
// by version at the subscription).
import { idOfType } from "../ids/index.js";
import { stockChangedEvent } from "../events/stock-changed.event.js";
import { orderStatusChangedEvent } from "../events/order-status-changed.event.js";
import { priceChangedEvent } from "../events/price-changed.event.js";
import type { PubSubBackend } from "./pubsub.js";
import type { StreamBackend, StreamMessage } from "./stream.js";
import type { Topics } from "./stream-events.js";
import { noMetrics, type Metrics } from "../observability/metrics.js";
import { bridgeTraced } from "./change-tracing.js";

export interface BridgeOptions {
  stream: StreamBackend;
  pubsub: PubSubBackend;
  topics: Topics;
  groupId: string;
  onError?: (err: unknown) => void;
  metrics?: Metrics;
}

export async function startBridge(opts: BridgeOptions): Promise<{ stop(): Promise<void> }> {
  const { stream, pubsub, topics, groupId, onError = () => {}, metrics = noMetrics } = opts;
  // A message that does not parse as its topic's event is dropped (and
  // reported): retrying it would block its partition forever.
  const publish = (m: StreamMessage): Promise<void> | undefined => {
    let json: unknown;
    try {
      json = JSON.parse(m.value);
    } catch (err) {
      onError(new Error(`dropping malformed message on ${m.topic} key ${m.key}: ${String(err)}`));
      return;
    }
    if (m.topic === topics.stockChanged) {
      const event = stockChangedEvent.safeParse(json);
      const id = event.success ? idOfType("Product", event.data.productId) : null;
      if (event.success && id)
        return bridgeTraced(m, (traceContext) => pubsub.publish("stock", id, traceContext ? { ...event.data, traceContext } : event.data));
    } else if (m.topic === topics.priceChanged) {
      const event = priceChangedEvent.safeParse(json);
      const id = event.success ? idOfType("Product", event.data.productId) : null;
      if (event.success && id) return pubsub.publish("price", id, event.data);
    } else {
      const event = orderStatusChangedEvent.safeParse(json);
      const id = event.success ? idOfType("Order", event.data.orderId) : null;
      if (event.success && id) {
        return bridgeTraced(m, (traceContext) =>
          pubsub.publish("orderStatus", id, traceContext ? { ...event.data, traceContext } : event.data),
        );
      }
    }
    onError(new Error(`dropping message on ${m.topic} key ${m.key}: not a valid event`));
  };
  return stream.consume({
    groupId,
    topics: [topics.stockChanged, topics.orderStatusChanged, topics.priceChanged],
    // One connection, commands in order: a product's events reach Redis in stream order.
    onBatch: async (messages) => {
      const started = performance.now();
      await Promise.all(messages.map(publish));
      metrics.bridgePublished((performance.now() - started) / 1000);
    },
    onError,
  });
}
