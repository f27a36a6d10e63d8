// "Your orders": the demo customer's latest orders, each with a live
// orderStatusChanged subscription, and placing orders from the product cards.
// The list stays live across tabs: a tab that placed or cancelled an order
// says so on a BroadcastChannel, and the customer's other tabs re-read it
// (orders from the flash sale's crowd belong to other customers).
import { cue, h, uniqueKey } from "./dom";
import { announce } from "./announcer";
import { request } from "./http";
import type { Live } from "./live";
import type { ResultOf } from "./graphql";
import { CancelOrderMutation, MyOrdersQuery, OrderStatusChangedSubscription, PlaceOrderMutation } from "./operations";
import { money, shortId, statusLabel, time } from "./format";
import type { OrderOutcome, Product } from "./product-card";

export const SHOWN_ORDERS = 6;

type Order = NonNullable<ResultOf<typeof MyOrdersQuery>["me"]["orders"]["edges"][number]>["node"];
export type PlaceOrderResult = ResultOf<typeof PlaceOrderMutation>["placeOrder"];

interface Row {
  order: Order;
  el: HTMLLIElement;
  status: HTMLElement;
  cancel: HTMLButtonElement;
  unsubscribe: () => void;
}

export class OrdersPanel {
  private readonly rows = new Map<string, Row>();
  private refreshing: Promise<void> = Promise.resolve();
  private readonly changeListeners = new Set<() => void>();
  private readonly refusalListeners = new Set<() => void>();
  /** This customer's other tabs of this page (same origin). */
  private readonly tabs: BroadcastChannel | undefined;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
    private readonly live: Live,
    private readonly token: string,
    customerId: string,
  ) {
    if (typeof BroadcastChannel === "function") {
      this.tabs = new BroadcastChannel(`stockwire-orders:${customerId}`);
      this.tabs.onmessage = () => this.changed(false);
    }
  }

  /** Called when the API refused one of this page's orders (not enough stock, sold out). */
  onRefused(listener: () => void): void {
    this.refusalListeners.add(listener);
  }

  /** Called after this customer's orders changed (placed, cancelled). */
  onChange(listener: () => void): void {
    this.changeListeners.add(listener);
  }

  /** One line; the message says what happened, or exactly why nothing was ordered. */
  async place(product: Product, quantity: number): Promise<OrderOutcome> {
    let result: PlaceOrderResult;
    try {
      ({ placeOrder: result } = await request(
        PlaceOrderMutation,
        { input: { idempotencyKey: uniqueKey("demo"), items: [{ productId: product.id, quantity }] } },
        this.token,
      ));
    } catch (err) {
      return { ok: false, message: `The order failed: ${(err as Error).message}` };
    }
    const outcome = describePlaceOrder(result, product.name, quantity);
    if (outcome.ok) this.changed();
    if (result.__typename === "InsufficientStockError") this.refusalListeners.forEach((l) => l());
    return outcome;
  }

  /** Re-reads the latest orders; keeps subscriptions for orders still shown. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing
      .then(() => this.load())
      .catch((err) => {
        this.empty.hidden = false;
        this.empty.textContent = `Could not load your orders: ${(err as Error).message}`;
      });
    return this.refreshing;
  }

  /** After this customer's orders changed: here (tell the other tabs) or in another tab. */
  changed(here = true): void {
    void this.refresh();
    this.changeListeners.forEach((l) => l());
    if (here) this.tabs?.postMessage("changed");
  }

  private async load() {
    const { me } = await request(MyOrdersQuery, { last: SHOWN_ORDERS }, this.token);
    const orders = me.orders.edges.map((e) => e.node).reverse(); // newest first
    const keep = new Set(orders.map((o) => o.id));
    for (const [id, row] of this.rows) {
      if (keep.has(id)) continue;
      row.unsubscribe();
      row.el.remove();
      this.rows.delete(id);
    }
    for (const order of orders) {
      const row = this.rows.get(order.id) ?? this.add(order);
      if (order.version > row.order.version) this.update(row, order);
    }
    this.list.replaceChildren(...orders.map((o) => this.rows.get(o.id)!.el));
    this.empty.hidden = orders.length > 0;
    this.empty.textContent = "No orders yet: order something from the grid.";
  }

  private add(order: Order): Row {
    const status = h("span", { class: "status" });
    const cancel = h("button", { class: "button small", attrs: { type: "button" }, text: "Cancel" });
    const items = order.items.map((i) => `${i.quantity} × ${i.product.name}`).join(", ");
    const el = h(
      "li",
      { class: "order", dataset: { orderId: order.id } },
      h(
        "div",
        { class: "order-main" },
        h("span", { class: "order-items", text: items }),
        h("span", {
          class: "order-meta",
          text: `#${shortId(order.id)} · ${time(order.createdAt)} · ${money(order.totalCents, order.currency)}`,
        }),
      ),
      h("div", { class: "order-side" }, status, cancel),
    );
    const row: Row = { order, el, status, cancel, unsubscribe: () => {} };
    cancel.addEventListener("click", () => void this.cancel(row));
    this.update(row, order, false);
    this.rows.set(order.id, row);
    row.unsubscribe = this.live.subscribe(OrderStatusChangedSubscription, { id: order.id }, ({ orderStatusChanged }) => {
      const next = orderStatusChanged.order;
      if (next.version <= row.order.version) return;
      this.update(row, next);
      announce(`Order ${shortId(next.id)} is now ${statusLabel(next.status).toLowerCase()}`);
    });
    return row;
  }

  private update(row: Row, order: Order, withCue = true) {
    const changed = row.order.status !== order.status;
    row.order = order;
    row.status.textContent = statusLabel(order.status);
    row.status.className = `status status-${order.status.toLowerCase()}`;
    row.cancel.hidden = !(order.status === "PENDING" || order.status === "CONFIRMED");
    if (withCue && changed) cue(row.status, "cue");
  }

  private async cancel(row: Row) {
    row.cancel.disabled = true;
    try {
      const { cancelOrder } = await request(
        CancelOrderMutation,
        { input: { orderId: row.order.id, expectedVersion: row.order.version } },
        this.token,
      );
      if (cancelOrder.__typename !== "CancelOrderSuccess") announce(`Could not cancel: ${cancelOrder.message}`);
    } catch (err) {
      announce(`Could not cancel: ${(err as Error).message}`);
    } finally {
      row.cancel.disabled = false;
      this.changed();
    }
  }
}

/** The text a shopper sees for a placeOrder result. */
export function describePlaceOrder(result: PlaceOrderResult, productName: string, quantity: number): OrderOutcome {
  switch (result.__typename) {
    case "PlaceOrderSuccess":
      return {
        ok: true,
        message: `Ordered ${quantity} × ${productName}: order #${shortId(result.order.id)}, ${money(result.order.totalCents, result.order.currency)}.`,
      };
    case "InsufficientStockError":
      return {
        ok: false,
        message:
          result.available === 0
            ? `Sold out: ${productName} has 0 available. Nothing was ordered.`
            : `Not enough stock: you asked for ${result.requested}, only ${result.available} available. Nothing was ordered.`,
      };
    default:
      return { ok: false, message: result.message };
  }
}
