// Sold out is cheap: in a flash sale most orders arrive after the last unit
// is gone. A product the database has refused an order for is watched in the
// StockHub (the live stock stream this process already receives); while its
// known stock is below what an order asks for, the order is refused here,
// without a database round trip. A restock reopens it as soon as its event
// arrives, and the watch ends once the product has stock again.
//
// Why this can only refuse correctly, never accept: the known state is a
// committed (stock, version) of the product; stock only grows through a
// change that publishes a newer version. Refusing "you asked for more than
// the stock at version v" is the answer the database gave at version v, a
// moment ago, the same answer an order that arrived a little earlier got.
// Acceptance always goes through the database.
//
// The known state is trusted for a bounded time only (ORDER_SOLD_OUT_TRUST_MS
// since the database or the stream last stood behind it): stock changed
// behind the app's back (an operator's SQL, a restore) publishes no event, and
// a product must not stay unsellable because of it. After that, one order goes
// to the database again, and its answer renews the trust.
import type { StockHub } from "./stock-hub.js";

/** Products watched for being sold out, at most (one pub/sub subscription each). */
const MAX_WATCHED = 1_000;

export interface Refusal {
  productId: string;
  sku: string;
  requested: number;
  available: number;
}

export class SoldOutGuard {
  /** Orders refused from memory, without touching the database. */
  refusals = 0;
  private readonly watching = new Map<string, Promise<() => void>>();
  /** When the database (or a committed change on the stream) last confirmed each followed product's known stock. */
  private readonly confirmedAt = new Map<string, number>();

  constructor(
    private readonly hub: StockHub,
    private readonly trustMs = 2_000,
  ) {}

  /** The first line that asks for more than its product's known stock, if any. */
  check(lines: { productId: string; quantity: number }[]): Refusal | undefined {
    const now = Date.now();
    for (const l of lines) {
      const at = this.confirmedAt.get(l.productId);
      if (at === undefined || now - at > this.trustMs) continue;
      const known = this.hub.known(l.productId);
      if (known && l.quantity > known.available) {
        this.refusals++;
        return { productId: l.productId, sku: known.product.sku, requested: l.quantity, available: known.available };
      }
    }
    return undefined;
  }

  /** The database refused an order for lack of this product's stock: follow it from now on. */
  follow(productId: string): void {
    if (!this.watching.has(productId) && this.watching.size >= MAX_WATCHED) return;
    this.confirmedAt.set(productId, Date.now());
    if (this.watching.has(productId)) return;
    const stop = this.hub.watch(productId, (change) => {
      if (change.available > 0) this.unfollow(productId);
      else this.confirmedAt.set(productId, Date.now());
    });
    this.watching.set(productId, stop);
    // A product that went away is simply not followed.
    stop.then(
      () => {
        const known = this.hub.known(productId);
        if (known && known.available > 0) this.unfollow(productId);
        else if (this.watching.has(productId)) this.confirmedAt.set(productId, Date.now());
      },
      () => {
        this.watching.delete(productId);
        this.confirmedAt.delete(productId);
      },
    );
  }

  private unfollow(productId: string) {
    const stop = this.watching.get(productId);
    if (!stop) return;
    this.watching.delete(productId);
    this.confirmedAt.delete(productId);
    void stop.then(
      (s) => s(),
      () => {},
    );
  }
}
