// The prices placeOrder's group commit charges, from memory: per product,
// everything the price rule needs (base price, the entries of lists not
// ended, the product's priceVersion), and customers' groups. Not a TTL cache:
// an entry stays until a price change drops it, here at once when this
// process made the change (PriceListService, ProductService), elsewhere when
// the price-changed event arrives (pubsub, subscribed by the app), and all of
// it when pub/sub reconnects (events may have been missed meanwhile).
//
// Exactness does not rest on the events: the order statement compares each
// line's priceVersion and the customer's group with the locked rows and
// refuses a batch member priced from a stale entry (priceStale); the order
// service then drops the entries, reprices and sends it again.
import type { RawQuery } from "../../db/raw-sql.js";
import { customerGroups, productPricing, type ProductPricing } from "../../db/price.sql.js";
import { choosePrice, type ChosenPrice } from "./price-rule.js";

export type { ProductPricing };

export interface PricedLine {
  productId: string;
  quantity: number;
  unitPriceCents: number;
  priceListId: string | null;
  /** The product's priceVersion the price was chosen from. */
  priceVersion: number;
}

/** Customers whose group is remembered at most (groups change rarely; a miss costs one indexed read). */
const MAX_GROUPS = 100_000;

export class PriceBook {
  private readonly products = new Map<string, ProductPricing>();
  private readonly groups = new Map<string, string | null>();
  /** Pricing being read, per product (one read however many ask at once). */
  private readonly productReads = new Map<string, Promise<ProductPricing | null>>();
  /** Groups being read: the fields of one request (and orders at once) that ask for the same customer share one read. */
  private readonly groupReads = new Map<string, Promise<string | null>>();
  /** Bumped by every drop: a read that started before one must not store what it read. */
  private generation = 0;

  constructor(private readonly sql: RawQuery) {}

  /**
   * The pricing of each product (null: no such product), reading the ones not in memory in one
   * statement; products already being read (another request's, or a price feed's subscribers after
   * a change) join that read.
   */
  async pricing(productIds: readonly string[]): Promise<(ProductPricing | null)[]> {
    if (productIds.every((id) => this.products.has(id))) return productIds.map((id) => this.products.get(id)!);
    const missing = [...new Set(productIds.filter((id) => !this.products.has(id) && !this.productReads.has(id)))];
    if (missing.length) {
      const batch = this.readProducts(missing);
      for (const id of missing)
        track(
          this.productReads,
          id,
          batch.then((read) => read.get(id) ?? null),
        );
    }
    return Promise.all(productIds.map((id) => this.products.get(id) ?? this.productReads.get(id) ?? null));
  }

  private async readProducts(ids: string[]): Promise<Map<string, ProductPricing>> {
    const generation = this.generation;
    const read = new Map((await productPricing(this.sql, ids)).map((p) => [p.productId, p]));
    if (generation === this.generation) for (const [id, p] of read) this.products.set(id, p);
    return read;
  }

  /**
   * A price-changed event said the product is at `priceVersion`: drops what is remembered of it when
   * older (the feed's subscribers may hear of the change before the price follower does).
   */
  dropOlder(productId: string, priceVersion: number): void {
    const known = this.products.get(productId);
    if (known && known.priceVersion >= priceVersion) return;
    this.dropProducts([productId]);
  }

  async groupOf(customerId: string): Promise<string | null> {
    if (this.groups.has(customerId)) return this.groups.get(customerId)!;
    return this.groupReads.get(customerId) ?? track(this.groupReads, customerId, this.readGroup(customerId));
  }

  private async readGroup(customerId: string): Promise<string | null> {
    const generation = this.generation;
    const group = (await customerGroups(this.sql, [customerId])).get(customerId) ?? null;
    if (generation === this.generation) {
      if (this.groups.size >= MAX_GROUPS) this.groups.clear();
      this.groups.set(customerId, group);
    }
    return group;
  }

  /** Prices an order's lines for a customer (lines of products that do not exist are priced at 0: the statement refuses them). */
  async priceLines(
    customerId: string,
    lines: readonly { productId: string; quantity: number }[],
    now = new Date(),
  ): Promise<{ customerGroup: string | null; lines: PricedLine[] }> {
    const [customerGroup, pricing] = await Promise.all([this.groupOf(customerId), this.pricing(lines.map((l) => l.productId))]);
    return {
      customerGroup,
      lines: lines.map((l, i) => {
        const p = pricing[i];
        if (!p) return { ...l, unitPriceCents: 0, priceListId: null, priceVersion: -1 };
        const chosen = price(p, l.quantity, customerGroup, now);
        return { ...l, unitPriceCents: chosen.unitPriceCents, priceListId: chosen.priceListId, priceVersion: p.priceVersion };
      }),
    };
  }

  /** Prices of these products changed: read them again when next asked. */
  dropProducts(productIds: Iterable<string>): void {
    this.generation++;
    for (const id of productIds) {
      this.products.delete(id);
      // A read under way may have started before the change: whoever asks next reads anew.
      this.productReads.delete(id);
    }
  }

  dropCustomer(customerId: string): void {
    this.generation++;
    this.groups.delete(customerId);
    // Whoever asks from now on reads anew rather than joining a read that started before the change.
    this.groupReads.delete(customerId);
  }

  /** Events may have been missed (pub/sub reconnected): forget everything. */
  dropAll(): void {
    this.generation++;
    this.products.clear();
    this.productReads.clear();
    this.groups.clear();
    this.groupReads.clear();
  }
}

/** Registers a read under way under `key` until it settles (unless a drop replaced or removed it meanwhile). */
function track<T>(reads: Map<string, Promise<T>>, key: string, read: Promise<T>): Promise<T> {
  reads.set(key, read);
  const settled = () => void (reads.get(key) === read && reads.delete(key));
  read.then(settled, settled);
  return read;
}

/** The rule applied to one product's pricing. */
export const price = (p: ProductPricing, quantity: number, customerGroup: string | null, now: Date): ChosenPrice =>
  choosePrice({ base: p.base, quantity, customerGroup, now, candidates: p.candidates });
