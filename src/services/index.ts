// The services a request can use; built once per process from its backends.
import type { DbClient } from "../db/database.js";
import type { Reads } from "../db/replicas.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { LiveService } from "./live.service.js";
import { CustomerService } from "./customer.service.js";
import { OrderService } from "./order.service.js";
import { ProductService } from "./product.service.js";
import type { Metrics } from "../observability/metrics.js";
import { StockHub } from "./stock-hub.js";
import { SoldOutGuard } from "./sold-out.js";

export interface Services {
  products: ProductService;
  customers: CustomerService;
  orders: OrderService;
  live: LiveService;
}

export function createServices(deps: {
  prisma: DbClient;
  /** Where reads of read-only requests go (read replicas); the primary when not given. */
  reads?: Reads;
  pubsub: PubSubBackend;
  outbox: OutboxSignal;
  live?: { maxUpdatesPerSecond: number };
  /** Group commit: orders per batch at most (config ORDER_BATCH_MAX). */
  orders?: { batchMax: number; soldOutTrustMs?: number };
  metrics?: Metrics;
}): Services {
  const products = new ProductService(deps.prisma, deps.outbox, deps.metrics, deps.reads);
  // One StockHub per process: live subscriptions and the sold-out short cut share its state.
  const stock = new StockHub(deps.pubsub, products);
  const orders = new OrderService(deps.prisma, deps.outbox, {
    batchMax: deps.orders?.batchMax,
    soldOut: new SoldOutGuard(stock, deps.orders?.soldOutTrustMs),
    metrics: deps.metrics,
    reads: deps.reads,
  });
  return {
    products,
    customers: new CustomerService(deps.prisma, deps.reads),
    orders,
    live: new LiveService(deps.pubsub, products, orders, deps.live, stock),
  };
}
