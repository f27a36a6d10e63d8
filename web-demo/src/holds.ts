// Holds in the storefront (issue 13): a cart of the demo customer's holds,
// each with a countdown to its expiry and Order / Release buttons; a form
// that holds units of a product or, when none are available, joins its
// waitlist ("Notify me"); and the product's live `available` (stock minus
// other shoppers' holds). The cart follows `subscription { myHolds }`, so a
// hold the waitlist offers appears by itself. Its panel is in index.html, so
// the page's layout is there at first paint and nothing below it moves when
// the session arrives; offline, its buttons are disabled like the cards'.
import { h, uniqueKey } from "./dom";
import { graphql } from "./graphql";
import { request, RequestError } from "./http";
import type { Live } from "./live";
import type { Catalogue } from "./catalogue";
import { bindProductPicker } from "./product-select";

const MY_HOLDS = graphql(`
  query CartHolds {
    myHolds(last: 20) {
      edges {
        node {
          id
          status
          expiresAt
          lines {
            quantity
            product {
              id
              name
            }
          }
        }
      }
    }
  }
`);

const HOLDS_LIVE = graphql(`
  subscription CartHoldsLive {
    myHolds {
      id
      status
      expiresAt
      lines {
        quantity
        product {
          id
          name
        }
      }
    }
  }
`);

const RESERVE = graphql(`
  mutation CartReserve($input: ReserveStockInput!) {
    reserveStock(input: $input) {
      __typename
      ... on Error {
        message
      }
      ... on InsufficientStockError {
        available
      }
    }
  }
`);

const JOIN = graphql(`
  mutation CartJoinWaitlist($productId: ID!, $quantity: Int!) {
    joinWaitlist(productId: $productId, quantity: $quantity) {
      __typename
      ... on JoinWaitlistSuccess {
        entry {
          status
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

const ORDER = graphql(`
  mutation CartOrderHold($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const RELEASE = graphql(`
  mutation CartRelease($id: ID!) {
    releaseHold(id: $id) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

const AVAILABLE = graphql(`
  subscription CartAvailable($id: ID!) {
    stockChanged(productIds: [$id]) {
      stock
      available
      reserved
      version
    }
  }
`);

interface CartHold {
  id: string;
  status: string;
  expiresAt: string;
  lines: { quantity: number; product: { id: string; name: string } }[];
}

export interface HoldsElements {
  form: HTMLFormElement;
  search: HTMLInputElement;
  select: HTMLSelectElement;
  quantity: HTMLInputElement;
  available: HTMLElement;
  hold: HTMLButtonElement;
  notify: HTMLButtonElement;
  result: HTMLElement;
  list: HTMLUListElement;
  empty: HTMLElement;
}

export function bindHolds(els: HoldsElements, catalogue: Catalogue, live: Live, token: string, onOrdered: () => void): void {
  const { form, search, select, quantity, available, hold, notify, result, list, empty } = els;
  // Like the cards' Order buttons: nothing is held or ordered while the page is offline (its counts may be stale).
  let online = false;
  const buttons = () => [hold, notify, ...list.querySelectorAll("button")];
  const refreshButtons = () => {
    for (const b of buttons()) {
      b.disabled = !online;
      b.title = online ? "" : "Offline: waits until the page is live again";
    }
  };
  live.onState((state) => {
    online = state.kind === "connected";
    refreshButtons();
  });

  const say = (message: string, ok: boolean) => {
    result.textContent = message;
    result.className = `form-result ${ok ? "ok" : "error"}`;
  };
  const holds = new Map<string, CartHold>();

  // The selected product's live availability; "Notify me" only when none is available.
  let stopAvailable = () => {};
  let version = -1;
  const watch = () => {
    stopAvailable();
    version = -1;
    if (!select.value) return;
    stopAvailable = live.subscribe(AVAILABLE, { id: select.value }, ({ stockChanged: s }) => {
      if (s.version <= version) return;
      version = s.version;
      available.textContent = `${s.available} available (${s.stock} in stock, ${s.reserved} held)`;
      notify.hidden = s.available > 0;
    });
  };
  bindProductPicker({ search, select }, catalogue, watch);

  const render = () => {
    const now = Date.now();
    const active = [...holds.values()].filter((x) => x.status === "ACTIVE" && Date.parse(x.expiresAt) > now);
    empty.hidden = active.length > 0;
    list.replaceChildren(
      ...active.map((x) => {
        const left = Math.max(0, Math.round((Date.parse(x.expiresAt) - now) / 1000));
        const what = x.lines.map((l) => `${l.quantity} × ${l.product.name}`).join(", ");
        const order = h("button", { class: "button primary", attrs: { type: "button", "aria-label": `Order ${what}` }, text: "Order" });
        const release = h("button", {
          class: "button secondary",
          attrs: { type: "button", "aria-label": `Release ${what}` },
          text: "Release",
        });
        order.addEventListener(
          "click",
          () =>
            void act(() => request(ORDER, { input: { holdId: x.id, idempotencyKey: uniqueKey("hold-order") } }, token), "Ordered.", true),
        );
        release.addEventListener("click", () => void act(() => request(RELEASE, { id: x.id }, token), "Released.", false));
        return h(
          "li",
          { class: "hold", dataset: { holdId: x.id } },
          h("span", { class: "hold-items", text: what }),
          h(
            "div",
            { class: "hold-side" },
            h("span", { class: "countdown", text: ` ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left ` }),
            h("span", { class: "hold-buttons" }, order, release),
          ),
        );
      }),
    );
    refreshButtons();
  };
  setInterval(render, 1000);

  async function act(run: () => Promise<Record<string, { __typename: string; message?: string }>>, done: string, ordered: boolean) {
    try {
      const r = Object.values(await run())[0]!;
      if (r.__typename.endsWith("Success")) {
        say(done, true);
        if (ordered) onOrdered();
      } else say(r.message ?? r.__typename, false);
    } catch (err) {
      say(err instanceof RequestError ? err.message : String(err), false);
    }
    followHolds();
    await refresh();
  }

  async function refresh() {
    const data = await request(MY_HOLDS, {}, token).catch(() => null);
    if (!data) return;
    for (const e of data.myHolds.edges) holds.set(e.node.id, e.node);
    render();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = { items: [{ productId: select.value, quantity: quantity.valueAsNumber }], idempotencyKey: uniqueKey("hold") };
    void act(() => request(RESERVE, { input }, token), "Held: order it before the countdown ends.", false);
  });
  notify.addEventListener("click", () => {
    void act(
      () => request(JOIN, { productId: select.value, quantity: quantity.valueAsNumber }, token),
      "You are on the waitlist: when units come back, a hold appears here.",
      false,
    );
  });

  // myHolds follows the products held or waited for as of subscribing: subscribe again after each change of ours.
  let stopHolds = () => {};
  const followHolds = () => {
    stopHolds();
    stopHolds = live.subscribe(HOLDS_LIVE, {}, ({ myHolds }) => {
      holds.set(myHolds.id, myHolds);
      render();
    });
  };
  followHolds();
  void refresh();
}
