// The demo admin: stock per location (stock-admin.ts: the picked product's
// levels, adjustments with a reason, counts, transfers), the picked product's
// ledger chart, and the latest orders, moved along (PENDING -> CONFIRMED ->
// SHIPPED -> DELIVERED). Uses the admin token from /demo/session; every change
// reaches all open pages through the live stream.
import { h } from "./dom";
import { request } from "./http";
import type { ResultOf } from "./graphql";
import { AdminOrdersQuery, UpdateOrderStatusMutation } from "./operations";
import { money, NEXT_STATUS, shortId, statusLabel } from "./format";
import type { Catalogue } from "./catalogue";
import { bindProductPicker } from "./product-select";
import { LedgerChart } from "./ledger-chart";
import type { Live } from "./live";
import { StockAdmin, type StockAdminElements } from "./stock-admin";

export const ADMIN_ORDERS = 6;

type AdminOrder = NonNullable<ResultOf<typeof AdminOrdersQuery>["orders"]["edges"][number]>["node"];

export interface AdminElements {
  search: HTMLInputElement;
  product: HTMLSelectElement;
  stock: StockAdminElements;
  result: HTMLElement;
  orders: HTMLOListElement;
  ordersEmpty: HTMLElement;
  refresh: HTMLButtonElement;
  ledgerChart: HTMLElement;
  ledgerCaption: HTMLElement;
}

export class AdminPanel {
  private refreshing: Promise<void> = Promise.resolve();
  private readonly stock: StockAdmin;

  constructor(
    private readonly els: AdminElements,
    catalogue: Catalogue,
    private readonly token: string,
    live: Live,
  ) {
    const ledger = new LedgerChart({ chart: els.ledgerChart, caption: els.ledgerCaption }, live, token);
    this.stock = new StockAdmin(els.stock, live, token);
    bindProductPicker({ search: els.search, select: els.product }, catalogue, () => {
      ledger.show(els.product.value);
      this.stock.show(els.product.value);
    });
    els.refresh.addEventListener("click", () => {
      this.stock.refresh();
      void this.refresh();
    });
  }

  private say(message: string, ok: boolean) {
    this.els.result.textContent = message;
    this.els.result.className = `form-result ${ok ? "ok" : "error"}`;
  }

  /** Re-reads the latest orders of all customers. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing
      .then(() => this.load())
      .catch((err) => {
        this.els.ordersEmpty.hidden = false;
        this.els.ordersEmpty.textContent = `Could not load orders: ${(err as Error).message}`;
      });
    return this.refreshing;
  }

  private async load() {
    const { orders } = await request(AdminOrdersQuery, { last: ADMIN_ORDERS }, this.token);
    const nodes = orders.edges.map((e) => e.node).reverse();
    this.els.orders.replaceChildren(...nodes.map((o) => this.row(o)));
    this.els.ordersEmpty.hidden = nodes.length > 0;
  }

  private row(order: AdminOrder): HTMLLIElement {
    const next = NEXT_STATUS[order.status as keyof typeof NEXT_STATUS];
    const items = order.items.map((i) => `${i.quantity} × ${i.product.name}`).join(", ");
    const button = next
      ? h("button", {
          class: "button small",
          attrs: { type: "button", "aria-label": `Mark order ${shortId(order.id)} ${statusLabel(next).toLowerCase()}` },
          text: `Mark ${statusLabel(next).toLowerCase()}`,
        })
      : null;
    button?.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const { updateOrderStatus: r } = await request(
          UpdateOrderStatusMutation,
          { input: { orderId: order.id, status: next!, expectedVersion: order.version } },
          this.token,
        );
        if (r.__typename !== "UpdateOrderStatusSuccess") this.say(r.message, false);
      } catch (err) {
        this.say((err as Error).message, false);
      }
      await this.refresh();
    });
    return h(
      "li",
      { class: "order", dataset: { orderId: order.id } },
      h(
        "div",
        { class: "order-main" },
        h("span", { class: "order-items", text: items }),
        h("span", {
          class: "order-meta",
          text: `#${shortId(order.id)} · ${order.customer.name} · ${money(order.totalCents, order.currency)}`,
        }),
      ),
      h(
        "div",
        { class: "order-side" },
        h("span", { class: `status status-${order.status.toLowerCase()}`, text: statusLabel(order.status) }),
        button,
      ),
    );
  }
}
