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
import { BulkImportForm } from "./bulk-import";
import { FlashSale } from "./flash-sale";
import { OpsPanel } from "./ops-panel";
import { bindHolds } from "./holds";

const result = await loadSession();
const session = result.kind === "demo" ? result.session : undefined;
const live = createLive(session?.customer.token);
bindConnectionIndicator(byId("connection"), byId("retry-now"), live);

const ops = new OpsPanel(
  {
    ordersPerSecond: byId("ops-orders"),
    refusals: byId("ops-refusals"),
    p50: byId("ops-p50"),
    p99: byId("ops-p99"),
    samples: byId("ops-samples"),
    connection: byId("ops-connection"),
    ordersChart: byId("ops-orders-chart"),
    saleChart: byId("ops-sale-chart"),
    saleCaption: byId("ops-sale-caption"),
  },
  live,
);
// For the browser tests and the curious: `stockwire.live.terminate()` drops the socket; `stockwire.ops` is the operations panel.
Object.assign(window, { stockwire: { live, ops } });
const orders = session && new OrdersPanel(byId("orders-list"), byId("orders-empty"), live, session.customer.token, session.customer.id);
orders?.onRefused(() => ops.refused());
const catalogue = new Catalogue(
  {
    grid: byId("product-grid"),
    search: byId("search"),
    inStock: byId("in-stock"),
    sort: byId("sort"),
    summary: byId("result-summary"),
    empty: byId("catalogue-empty"),
    loadMore: byId("load-more"),
  },
  live,
  orders && ((product, quantity) => orders.place(product, quantity)),
);
catalogue.onChange((change, shownAt) => ops.observe(change, shownAt));
byId("catalogue-reset").addEventListener("click", () => void catalogue.reset());

if (session && orders) {
  byId("viewer").textContent = `Shopping as ${session.customer.name} (demo customer)`;
  const admin = new AdminPanel(
    {
      search: byId("admin-search"),
      product: byId("admin-product"),
      stock: {
        levels: byId("levels-body"),
        levelsEmpty: byId("levels-empty"),
        levelsResult: byId("levels-result"),
        transfers: {
          form: byId("transfer-form"),
          product: byId("transfer-product"),
          from: byId("transfer-from"),
          to: byId("transfer-to"),
          quantity: byId("transfer-qty"),
          result: byId("transfer-result"),
          list: byId("transfers-list"),
          empty: byId("transfers-empty"),
        },
      },
      result: byId("admin-result"),
      orders: byId("admin-orders"),
      ordersEmpty: byId("admin-orders-empty"),
      refresh: byId("admin-refresh"),
      ledgerChart: byId("ledger-chart"),
      ledgerCaption: byId("ledger-caption"),
    },
    catalogue,
    session.admin.token,
    live,
  );
  new BulkImportForm(
    {
      form: byId("import-form"),
      file: byId("import-file"),
      mode: byId("import-mode"),
      start: byId("import-start"),
      cancel: byId("import-cancel"),
      progress: byId("import-progress"),
      status: byId("import-status"),
      errors: byId("import-errors"),
      more: byId("import-errors-more"),
    },
    session.admin.token,
  );
  new FlashSale(
    {
      form: byId("flash-form"),
      search: byId("flash-search"),
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
    session.shoppers ?? [],
    ops,
    () => void admin.refresh(), // the crowd's orders are not the demo customer's: only the admin's list changes
  );
  bindHolds(
    {
      form: byId("hold-form"),
      search: byId("hold-search"),
      select: byId("hold-product"),
      quantity: byId("hold-qty"),
      available: byId("hold-available"),
      hold: byId("hold-submit"),
      notify: byId("hold-notify"),
      result: byId("hold-result"),
      list: byId("holds-list"),
      empty: byId("holds-empty"),
    },
    catalogue,
    live,
    session.customer.token,
    () => orders.changed(),
  );
  orders.onChange(() => void admin.refresh());
  void orders.refresh();
  void admin.refresh();
} else {
  for (const id of ["orders-panel", "holds-panel", "flash-panel", "admin-panel"]) byId(id).hidden = true;
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
