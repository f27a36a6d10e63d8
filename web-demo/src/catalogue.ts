// The product grid: search, cursor pagination ("Load more"), and live stock.
// Each loaded page has its own stockChanged subscription for its products; a
// new search drops them all. The server first sends every product's CURRENT
// count, then each change; versions decide what is newer, so a late or
// repeated event never moves a count backwards.
import { announce } from "./announcer";
import type { Live } from "./live";
import { request } from "./http";
import { ProductsQuery, StockChangedSubscription } from "./operations";
import type { ResultOf } from "./graphql";
import { productCard, type PlaceOrder, type Product, type ProductCard } from "./product-card";
import { STOCK_LABEL, stockLevel } from "./format";

export const PAGE_SIZE = 12;

type StockChange = ResultOf<typeof StockChangedSubscription>["stockChanged"];

export interface CatalogueElements {
  grid: HTMLUListElement;
  search: HTMLInputElement;
  summary: HTMLElement;
  loadMore: HTMLButtonElement;
}

export class Catalogue {
  /** Products on screen, by ID. */
  readonly products = new Map<string, { product: Product; card: ProductCard }>();
  private unsubscribes: (() => void)[] = [];
  private cursor: string | null = null;
  private term = "";
  /** Bumped by every new search, so answers to an older one are dropped. */
  private generation = 0;
  private readonly stockListeners = new Set<(product: Product, delta: number) => void>();
  private readonly listListeners = new Set<(products: Product[]) => void>();

  constructor(
    private readonly els: CatalogueElements,
    private readonly live: Live,
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
    els.loadMore.addEventListener("click", () => void this.loadMore());
  }

  /** Called with a product whenever its count changes (delta from the previous count). */
  onStock(listener: (product: Product, delta: number) => void): void {
    this.stockListeners.add(listener);
  }

  /** Called with all products on screen whenever that list changes. */
  onList(listener: (products: Product[]) => void): void {
    this.listListeners.add(listener);
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
      const { products } = await request(ProductsQuery, { first: PAGE_SIZE, after: this.cursor, search: this.term || null });
      if (generation !== this.generation) return;
      const page = products.edges.map((e) => ({ ...e.node }));
      const fresh = page.filter((p) => !this.products.has(p.id));
      for (const product of fresh) {
        const card = productCard(product, this.placeOrder);
        this.products.set(product.id, { product, card });
        grid.append(card.root);
      }
      this.cursor = products.pageInfo.endCursor ?? this.cursor;
      loadMore.hidden = !products.pageInfo.hasNextPage;
      summary.textContent = this.products.size
        ? `Showing ${this.products.size}${products.pageInfo.hasNextPage ? "+" : ""} product${this.products.size === 1 ? "" : "s"}${this.term ? ` matching “${this.term}”` : ""}`
        : `No products${this.term ? ` match “${this.term}”` : ""}.`;
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

  private subscribe(ids: string[]) {
    this.unsubscribes.push(this.live.subscribe(StockChangedSubscription, { ids }, ({ stockChanged }) => this.apply(stockChanged)));
  }

  private apply(change: StockChange) {
    const entry = this.products.get(change.product.id);
    if (!entry) return;
    entry.card.root.dataset.live = "true"; // its subscription is running
    if (change.version <= entry.product.version) return;
    const { product, card } = entry;
    const delta = change.stock - product.stock;
    product.version = change.version;
    card.setStock(change.stock, delta);
    if (delta !== 0) {
      this.stockListeners.forEach((l) => l(product, delta));
      announce(`${product.name}: ${STOCK_LABEL[stockLevel(change.stock)].toLowerCase()}, ${change.stock} left`);
    }
  }
}
