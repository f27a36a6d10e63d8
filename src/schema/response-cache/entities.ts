// Which cached results a change makes old, as the entities the response cache indexes results by
// (typename, or typename and the GraphQL `id`, a global ID). One place for both sources of change:
// the stream's events (every instance) and this instance's own mutations (before their response).
import type { StockChangedEvent } from "../../events/stock-changed.event.js";
import type { CacheEntity } from "./entity-cache.js";

const product = (id: unknown): CacheEntity => ({ typename: "Product", id: String(id) });
/** Every result that shows any product, and every null `product`/`node` (the plugin records a null field by its type). */
const ANY_PRODUCT: CacheEntity[] = [{ typename: "Product" }, { typename: "Node" }];
/**
 * Not a schema type (the plugin records no entity for a connection, which has no id): which products
 * a products(...) page holds; a search's changes with a name, the catalogue's with a new product.
 */
export const PRODUCT_LISTS: CacheEntity = { typename: "ProductLists" };
/**
 * Not a schema type: what pages that filter by stock (inStock) or count (totalCount) depend on
 * besides their own products, since a product they do not show can enter them.
 */
export const PRODUCTS_BY_STOCK: CacheEntity = { typename: "ProductsByStock" };

/** What a stock change makes old: the product; pages by stock when it sold out or came back; everything on CREATED. */
export function stockEventEntities(e: Pick<StockChangedEvent, "productId" | "stock" | "committed" | "delta" | "reason">): CacheEntity[] {
  if (e.reason === "CREATED") return [product(e.productId), ...ANY_PRODUCT, PRODUCT_LISTS, PRODUCTS_BY_STOCK];
  return crossedZero(e) ? [product(e.productId), PRODUCTS_BY_STOCK] : [product(e.productId)];
}

/** Whether inStock (stock > committed) may have changed. The event carries no committed delta: order reasons judge by what is left. */
function crossedZero(e: Pick<StockChangedEvent, "stock" | "committed" | "delta" | "reason">): boolean {
  const free = e.stock - (e.committed ?? 0);
  if (e.reason === "ORDER_PLACED" || e.reason === "HOLD_CONSUMED") return free === 0;
  if (e.reason === "ORDER_CANCELLED") return true;
  if (e.reason === "ORDER_SHIPPED") return false; // on hand and committed fall together
  return free > 0 !== free - e.delta > 0;
}

export interface MutationTouch {
  entities: CacheEntity[];
  /** No stock event will describe it: the other instances are told (the catalogue channel). */
  announce?: boolean;
  /** Nothing known about it (a mutation added later): every entry goes, here and on the other instances. */
  all?: boolean;
}

// Argument values as the schema validated them (each mutation's input type); read by name below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Args = Record<string, any>;
const lines = (items: unknown): CacheEntity[] => (Array.isArray(items) ? items.map((l: Args) => product(l.productId)) : []);

/**
 * What a mutation (root field and its arguments) may have changed. Where its products are known
 * only after reading the order or hold (cancel, release, the waitlist, an order from a hold), every
 * product result goes: these are rarer than orders by line.
 */
export function mutationEntities(field: string, args: Args): MutationTouch {
  const input: Args = args.input ?? {};
  switch (field) {
    case "placeOrder":
      return { entities: input.holdId ? [...ANY_PRODUCT, PRODUCTS_BY_STOCK] : [...lines(input.items), PRODUCTS_BY_STOCK] };
    case "reserveStock":
      return { entities: lines(input.items) };
    case "adjustStock":
      return { entities: [product(input.productId), PRODUCTS_BY_STOCK] };
    case "updateProduct":
      return { entities: [product(input.id), PRODUCT_LISTS], announce: true };
    case "createProduct":
      return { entities: [...ANY_PRODUCT, PRODUCT_LISTS, PRODUCTS_BY_STOCK] };
    case "createCustomer":
    case "__typename":
      return { entities: [] };
    case "cancelOrder":
    case "updateOrderStatus":
    case "releaseHold":
    case "joinWaitlist":
    case "leaveWaitlist":
      return { entities: [...ANY_PRODUCT, PRODUCTS_BY_STOCK] };
    default:
      return { entities: [], all: true };
  }
}
