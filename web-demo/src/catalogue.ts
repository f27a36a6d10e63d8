// The product grid: search, an in-stock filter (the API's `inStock`), sort,
// cursor pagination ("Load more"), and live stock. Each loaded page has its
// own stockChanged subscription for its products; a new search drops them
// all. The server first sends every product's CURRENT count, then each
// change; versions decide what is newer, so a late or repeated event never
// moves a count backwards.
import { announce } from "./announcer";
import type { Live } from "./live";
import { request } from "./http";
import { PriceChangedSubscription, ProductsQuery, StockChangedSubscription } from "./operations";
import type { ResultOf } from "./graphql";
import { productCard, type PlaceOrder, type Product, type ProductCard } from "./product-card";
import { STOCK_LABEL, stockLevel } from "./format";
import { h } from "./dom";

export const PAGE_SIZE = 12;

export type StockChange = ResultOf<typeof StockChangedSubscription>["stockChanged"];

/** Sorts apply to the products on screen: the API pages the catalogue oldest first and has no other order. */
export const SORTS = {
  catalogue: { label: "Catalogue order", compare: () => 0 },
  name: { label: "Name A-Z", compare: (a: Product, b: Product) => a.name.localeCompare(b.name) },
  "price-asc": { label: "Price, low to high", compare: (a: Product, b: Product) => a.priceCents - b.priceCents },
  "price-desc": { label: "Price, high to low", compare: (a: Product, b: Product) => b.priceCents - a.priceCents },
  "stock-asc": { label: "Fewest left first", compare: (a: Product, b: Product) => a.available - b.available },
} as const;
export type SortKey = keyof typeof SORTS;

export interface CatalogueElements {
  grid: HTMLUListElement;
  search: HTMLInputElement;
  inStock: HTMLInputElement;
  sort: HTMLSelectElement;
  summary: HTMLElement;
  empty: HTMLElement;
  loadMore: HTMLButtonElement;
}

export class Catalogue {
  /** Products on screen, by ID, in catalogue order. */
  readonly products = new Map<string, { product: Product; card: ProductCard }>();
  private unsubscribes: (() => void)[] = [];
  private cursor: string | null = null;
  private hasMore = false;
  /** How many products match the search and filter, on all pages. */
  private total = 0;
  private term = "";
  private live = false;
  /** Bumped by every new search, so answers to an older one are dropped. */
  private generation = 0;
  private readonly stockListeners = new Set<(product: Product, delta: number) => void>();
  private readonly changeListeners = new Set<(change: StockChange, shownAt: number) => void>();
  private readonly listListeners = new Set<(products: Product[]) => void>();
  /** The newest priceVersion shown per product (updates may repeat after a reconnect). */
  private readonly priceVersions = new Map<string, number>();

  constructor(
    private readonly els: CatalogueElements,
    /** Carries the shopper's token: priceChanged answers with their own prices. */
    private readonly liveClient: Live,
    private readonly placeOrder?: PlaceOrder,
  ) {
    let debounce: ReturnType<typeof setTimeout> | undefined;
    els.search.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void this.search(els.search.value), 250);
    });
    els.search.form?.addEventListener("submit", (e) => {
      e.preventDefault();
      clearTimeout(debounce);
      void this.search(els.search.value);
    });
    els.inStock.addEventListener("change", () => void this.search(els.search.value));
    els.sort.replaceChildren(...Object.entries(SORTS).map(([value, s]) => h("option", { attrs: { value }, text: s.label })));
    els.sort.addEventListener("change", () => this.arrange());
    els.loadMore.addEventListener("click", () => void this.loadMore());
    liveClient.onState((state) => {
      this.live = state.kind === "connected";
      for (const { card } of this.products.values()) card.setOrderable(this.live);
    });
  }

  /** Called with a product whenever its count changes (delta from the previous count). */
  onStock(listener: (product: Product, delta: number) => void): void {
    this.stockListeners.add(listener);
  }

  /** Called with every change the subscription delivers that moved a count, and when it reached the screen (ms since the epoch). */
  onChange(listener: (change: StockChange, shownAt: number) => void): void {
    this.changeListeners.add(listener);
  }

  /** Called with all products on screen whenever that list changes. */
  onList(listener: (products: Product[]) => void): void {
    this.listListeners.add(listener);
  }

  /** Clears the search and the in-stock filter (the empty state's way back). */
  reset(): Promise<void> {
    this.els.search.value = "";
    this.els.inStock.checked = false;
    return this.search("");
  }

  async search(term: string): Promise<void> {
    this.term = term.trim();
    this.generation++;
    this.unsubscribes.forEach((u) => u());
    this.unsubscribes = [];
    this.products.clear();
    this.cursor = null;
    this.els.grid.replaceChildren();
    await this.loadMore();
  }

  async loadMore(): Promise<void> {
    const generation = this.generation;
    const { grid, loadMore, summary } = this.els;
    loadMore.disabled = true;
    grid.setAttribute("aria-busy", "true");
    try {
      const { products } = await request(ProductsQuery, {
        first: PAGE_SIZE,
        after: this.cursor,
        search: this.term || null,
        inStock: this.els.inStock.checked ? true : null,
      });
      if (generation !== this.generation) return;
      const page = products.edges.map((e) => ({ ...e.node }));
      const fresh = page.filter((p) => !this.products.has(p.id));
      for (const product of fresh) {
        const card = productCard(product, this.placeOrder, this.live);
        this.products.set(product.id, { product, card });
      }
      this.cursor = products.pageInfo.endCursor ?? this.cursor;
      this.hasMore = products.pageInfo.hasNextPage;
      this.total = products.totalCount;
      loadMore.hidden = !this.hasMore;
      this.arrange();
      if (fresh.length) this.subscribe(fresh.map((p) => p.id));
      this.listListeners.forEach((l) => l([...this.products.values()].map((v) => v.product)));
    } catch (err) {
      if (generation === this.generation) summary.textContent = `Could not load products: ${(err as Error).message}`;
    } finally {
      if (generation === this.generation) {
        loadMore.disabled = false;
        grid.removeAttribute("aria-busy");
      }
    }
  }

  /** Puts the cards in the chosen order and says what is shown. */
  private arrange() {
    const { grid, summary, empty, sort } = this.els;
    const entries = [...this.products.values()];
    const compare = SORTS[sort.value as SortKey]?.compare ?? SORTS.catalogue.compare;
    grid.replaceChildren(...entries.sort((a, b) => compare(a.product, b.product)).map((e) => e.card.root));
    const n = this.products.size;
    const filters = [this.term && `matching “${this.term}”`, this.els.inStock.checked && "in stock"].filter(Boolean).join(", ");
    summary.textContent = n ? `Showing ${n} of ${this.total} product${this.total === 1 ? "" : "s"}${filters ? ` ${filters}` : ""}` : "";
    empty.hidden = n > 0;
    if (!n) {
      empty.querySelector(".empty-text")!.textContent = `No products${filters ? ` ${filters}` : ""}.`;
    }
  }

  private subscribe(ids: string[]) {
    this.unsubscribes.push(this.liveClient.subscribe(StockChangedSubscription, { ids }, ({ stockChanged }) => this.apply(stockChanged)));
    // The catalogue page itself is the same for everyone (and cached); the shopper's prices come on top, and follow changes.
    this.unsubscribes.push(
      this.liveClient.subscribe(PriceChangedSubscription, { ids }, ({ priceChanged }) => this.applyPrice(priceChanged)),
    );
  }

  private applyPrice(change: ResultOf<typeof PriceChangedSubscription>["priceChanged"]) {
    const entry = this.products.get(change.productId);
    if (!entry || change.priceVersion < (this.priceVersions.get(change.productId) ?? -1)) return;
    this.priceVersions.set(change.productId, change.priceVersion);
    entry.card.setPrices(change.basePrice, change.price, change.priceTiers);
  }

  private apply(change: StockChange) {
    const entry = this.products.get(change.product.id);
    if (!entry) return;
    entry.card.root.dataset.live = "true"; // its subscription is running
    if (change.version <= entry.product.version) return;
    const { product, card } = entry;
    // The card shows what can be bought (available); an order from a hold moves stock but not available.
    const delta = change.available - product.available;
    const moved = delta !== 0 || change.stock !== product.stock || change.reserved !== product.reserved;
    product.version = change.version;
    const committed = change.reason === "CURRENT" ? Date.now() : Date.parse(change.occurredAt);
    card.setStock(change, delta, committed / 1000);
    if (moved) {
      // On screen with the next frame the browser paints.
      requestAnimationFrame(() => {
        const shownAt = Date.now();
        this.changeListeners.forEach((l) => l(change, shownAt));
      });
    }
    if (delta !== 0) {
      this.stockListeners.forEach((l) => l(product, delta));
      announce(`${product.name}: ${STOCK_LABEL[stockLevel(change.available)].toLowerCase()}, ${change.available} left`);
    }
  }
}
