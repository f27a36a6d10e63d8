// The storefront demo: wires the views to the API. Everything it shows comes
// from the GraphQL API in ../schema.graphql; nothing here is demo-only except
// where the tokens come from (session.ts).
import "./styles.css";
import { byId } from "./dom";
import { loadSession } from "./session";
import { createLive } from "./live";
import { bindConnectionIndicator } from "./connection";
import { Catalogue } from "./catalogue";
import { OrdersPanel } from "./orders";
import { AdminPanel } from "./admin";
import { FlashSale } from "./flash-sale";
import { mountHolds } from "./holds";

const result = await loadSession();
const session = result.kind === "demo" ? result.session : undefined;
const live = createLive(session?.customer.token);
bindConnectionIndicator(byId("connection"), live);
// For the browser tests and the curious: `stockwire.live.terminate()` drops the socket.
Object.assign(window, { stockwire: { live } });

const orders = session && new OrdersPanel(byId("orders-list"), byId("orders-empty"), live, session.customer.token);
const catalogue = new Catalogue(
  { grid: byId("product-grid"), search: byId("search"), summary: byId("result-summary"), loadMore: byId("load-more") },
  live,
  orders && ((product, quantity) => orders.place(product, quantity)),
);

if (session && orders) {
  byId("viewer").textContent = `Shopping as ${session.customer.name} (demo customer)`;
  const admin = new AdminPanel(
    {
      form: byId("adjust-form"),
      product: byId("adjust-product"),
      delta: byId("adjust-delta"),
      reason: byId("adjust-reason"),
      result: byId("adjust-result"),
      orders: byId("admin-orders"),
      ordersEmpty: byId("admin-orders-empty"),
      refresh: byId("admin-refresh"),
    },
    catalogue,
    session.admin.token,
  );
  new FlashSale(
    {
      form: byId("flash-form"),
      product: byId("flash-product"),
      orders: byId("flash-orders"),
      counter: byId("flash-counter"),
      counterLabel: byId("flash-counter-label"),
      lowest: byId("flash-lowest"),
      fired: byId("flash-fired"),
      won: byId("flash-won"),
      lost: byId("flash-lost"),
      failed: byId("flash-failed"),
      bar: byId("flash-bar"),
      result: byId("flash-result"),
    },
    catalogue,
    live,
    () => orders.changed(),
  );
  mountHolds(byId("orders-panel"), catalogue, live, session.customer.token, () => orders.changed());
  orders.onChange(() => void admin.refresh());
  void orders.refresh();
  void admin.refresh();
} else {
  for (const id of ["orders-panel", "flash-panel", "admin-panel"]) byId(id).hidden = true;
  document.body.classList.add("read-only");
  const notice = byId("notice");
  notice.hidden = false;
  notice.textContent =
    result.kind === "read-only" && result.reason === "off"
      ? "Demo mode is off on this server (STOCKWIRE_DEMO=off), so this is a read-only catalogue: no ordering or admin. Stock counts still update live."
      : `Could not start a demo session (${result.kind === "read-only" ? result.detail : ""}): showing a read-only catalogue.`;
  byId("viewer").textContent = "Browsing (read-only)";
}

void catalogue.search("");
