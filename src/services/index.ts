// The services a request can use; built once per process from its backends.
import type { DbClient } from "../db/database.js";
import type { BatcherCircuit } from "./order-batcher.js";
import type { Reads } from "../db/replicas.js";
import { rawSqlOverPrisma, type RawSql } from "../db/raw-sql.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { LiveService } from "./live.service.js";
import { CustomerService } from "./customer.service.js";
import { OrderService } from "./order.service.js";
import { ProductService } from "./product.service.js";
import type { Metrics } from "../observability/metrics.js";
import { StockHub } from "./stock-hub.js";
import { SoldOutGuard } from "./sold-out.js";
import { DEFAULT_HOLD_SETTINGS, HoldService, type HoldSettings } from "./hold.service.js";
import { WaitlistService } from "./waitlist.service.js";
import { LocationService } from "./location.service.js";
import { TransferService } from "./transfer.service.js";
import { HoldSweeper } from "./hold-sweeper.js";
import { myHoldsFeed, type HoldChange } from "./hold-feed.js";
import { priceFeed, type PriceChange } from "./pricing/price-feed.js";
import { ExportService } from "./export.service.js";
import { BulkImportService } from "./bulk-import.service.js";
import { BulkImportRunner, type BulkImportRunnerOptions } from "./bulk-import-runner.js";
import type { RequestContext } from "../auth/viewer.js";
import { PriceBook } from "./pricing/price-book.js";
import { PriceListService } from "./price-list.service.js";

export interface Services {
  products: ProductService;
  customers: CustomerService;
  orders: OrderService;
  live: LiveService;
  holds: HoldService;
  waitlist: WaitlistService;
  locations: LocationService;
  transfers: TransferService;
  priceLists: PriceListService;
  /** The prices orders are charged, from memory: the app drops entries on price-changed events. */
  prices: PriceBook;
  /** Ends holds past their expiry; the app starts and stops it. */
  sweeper: HoldSweeper;
  /** GET /export/*.csv */
  exports: ExportService;
  /** startBulkImport, bulkOperation, cancelBulkOperation */
  bulkImports: BulkImportService;
  /** Writes the imports' rows; the app starts and stops it. */
  bulkImportRunner: BulkImportRunner;
  /** subscription { myHolds } */
  myHolds: (ctx: RequestContext) => Promise<AsyncIterable<HoldChange>>;
  /** subscription { priceChanged } (database ids) */
  priceChanges: (ctx: RequestContext, productIds: readonly string[]) => Promise<AsyncIterable<PriceChange>>;
}

export function createServices(deps: {
  prisma: DbClient;
  /** placeOrder's statements, straight to the driver (Database.sql); through prisma when not given. */
  sql?: RawSql;
  /** Where reads of read-only requests go (read replicas); the primary when not given. */
  reads?: Reads;
  pubsub: PubSubBackend;
  outbox: OutboxSignal;
  live?: { maxUpdatesPerSecond: number };
  /** Group commit: orders per batch at most (ORDER_BATCH_MAX), batches in the database at once (ORDER_BATCH_IN_FLIGHT). */
  orders?: { batchMax: number; batchesInFlight?: number; soldOutTrustMs?: number };
  metrics?: Metrics;
  holds?: HoldSettings & { sweepIntervalMs?: number };
  onError?: (err: unknown) => void;
  bulkImport?: BulkImportRunnerOptions & { maxBytes?: number };
  /** Bulk exports: rows per page read (EXPORT_PAGE_SIZE when not given). */
  exportPageRows?: number;
  /** PostgreSQL's circuit breaker: the order batcher refuses orders that would wait behind hung batches while it is not closed. */
  postgresCircuit?: BatcherCircuit;
}): Services {
  const holdSettings = deps.holds ?? DEFAULT_HOLD_SETTINGS;
  const locations = new LocationService(deps.prisma, deps.metrics);
  const prices = new PriceBook(deps.sql ?? rawSqlOverPrisma(deps.prisma));
  const products = new ProductService(
    deps.prisma,
    deps.outbox,
    deps.metrics,
    deps.reads,
    holdSettings.waitlistTtlSeconds,
    locations,
    prices,
  );
  // One StockHub per process: live subscriptions and the sold-out short cut share its state.
  const stock = new StockHub(deps.pubsub, products, locations);
  const orders = new OrderService(deps.prisma, deps.outbox, {
    batchMax: deps.orders?.batchMax,
    batchesInFlight: deps.orders?.batchesInFlight,
    soldOut: new SoldOutGuard(stock, deps.orders?.soldOutTrustMs),
    metrics: deps.metrics,
    reads: deps.reads,
    sql: deps.sql,
    waitlistTtlSeconds: holdSettings.waitlistTtlSeconds,
    prices,
    circuit: deps.postgresCircuit,
  });
  const holds = new HoldService(deps.prisma, deps.outbox, holdSettings);
  const bulkImportRunner = new BulkImportRunner(deps.prisma, deps.outbox, {
    waitlistTtlSeconds: holdSettings.waitlistTtlSeconds,
    onError: deps.onError,
    // Every instance's catalogue cache drops what it holds (imports are rare; which pages a product is on is not known here).
    onCatalogChanged: () => void deps.pubsub.publish("catalog", "changed", { entities: [], all: true }).catch(() => {}),
    // Each committed chunk and status change, to bulkOperationChanged's subscribers on every instance.
    onOperationChanged: (id) => bulkImports.announce(id),
    ...deps.bulkImport,
  });
  const bulkImports = new BulkImportService(
    deps.prisma,
    deps.sql ?? rawSqlOverPrisma(deps.prisma),
    bulkImportRunner,
    deps.bulkImport?.maxBytes,
    deps.pubsub,
  );
  return {
    products,
    customers: new CustomerService(deps.prisma, deps.reads),
    orders,
    live: new LiveService(deps.pubsub, products, orders, deps.live, stock, locations),
    holds,
    waitlist: new WaitlistService(deps.prisma, deps.outbox, holdSettings.waitlistTtlSeconds),
    locations,
    transfers: new TransferService(deps.prisma, deps.outbox, locations),
    bulkImports,
    bulkImportRunner,
    exports: new ExportService(deps.sql ?? rawSqlOverPrisma(deps.prisma), deps.exportPageRows),
    priceLists: new PriceListService(deps.prisma, deps.outbox, prices, (customerId) => {
      void deps.pubsub.publish("customerGroup", customerId, { customerId }).catch(() => {});
    }),
    prices,
    sweeper: new HoldSweeper(holds, deps.holds?.sweepIntervalMs ?? 250, deps.onError),
    myHolds: (ctx) => myHoldsFeed(ctx, { prisma: deps.prisma, holds, stock }),
    priceChanges: (ctx, productIds) => priceFeed(ctx, { pubsub: deps.pubsub, book: prices }, productIds),
  };
}
