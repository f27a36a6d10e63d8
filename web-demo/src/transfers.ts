// The admin's transfers: a form that sends units of the picked product from
// one location to another (transferStock: they leave what is available at
// `from` and show as incoming at `to`), and the transfers still on the way,
// each of which can be received (receiveTransfer) or cancelled back
// (cancelTransfer), all of it or a count. Items are kept per transfer and
// updated in place, so a refresh leaves a count being typed.
import { h } from "./dom";
import { time } from "./format";
import type { Level, LocationInfo, Outcome } from "./level-table";

export interface OpenTransfer {
  id: string;
  status: string;
  quantity: number;
  received: number;
  inTransit: number;
  version: number;
  createdAt: string;
  product: { id: string; name: string };
  from: { id: string; code: string; name: string };
  to: { id: string; code: string; name: string };
}

export interface TransferActions {
  send(from: LocationInfo, to: LocationInfo, quantity: number): Promise<Outcome>;
  /** `quantity` undefined: all that is still on the way. */
  receive(transfer: OpenTransfer, quantity: number | undefined): Promise<Outcome>;
  cancel(transfer: OpenTransfer, quantity: number | undefined): Promise<Outcome>;
}

export interface TransferElements {
  form: HTMLFormElement;
  product: HTMLElement;
  from: HTMLSelectElement;
  to: HTMLSelectElement;
  quantity: HTMLInputElement;
  result: HTMLElement;
  list: HTMLUListElement;
  empty: HTMLElement;
}

interface Item {
  li: HTMLLIElement;
  what: HTMLElement;
  meta: HTMLElement;
  count: HTMLInputElement;
  transfer: OpenTransfer;
}

export class TransferPanel {
  private locations: LocationInfo[] = [];
  private readonly items = new Map<string, Item>();

  constructor(
    private readonly els: TransferElements,
    private readonly actions: TransferActions,
  ) {
    els.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.send();
    });
  }

  /** The picked product (none: the form is disabled) and what each location has of it. */
  showProduct(product: { name: string } | undefined, locations: LocationInfo[], levels: Map<string, Level>): void {
    const { from, to, form } = this.els;
    this.locations = locations;
    this.els.product.textContent = product ? product.name : "Pick a product above.";
    for (const [select, fallback] of [
      [from, 0],
      [to, 1],
    ] as const) {
      const chosen = select.value;
      select.replaceChildren(
        ...locations.map((l) =>
          h("option", {
            attrs: { value: l.id },
            text: `${l.name} (${l.code}) · ${levels.get(l.id)?.available ?? 0} available`,
          }),
        ),
      );
      select.value = locations.some((l) => l.id === chosen) ? chosen : (locations[fallback]?.id ?? "");
    }
    for (const control of form.elements) (control as HTMLInputElement).disabled = !product || locations.length < 2;
  }

  /** The transfers still on the way (of any product), oldest first. */
  showOpen(transfers: OpenTransfer[]): void {
    const open = transfers.filter((t) => t.status === "IN_TRANSIT").sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const [id, item] of this.items) {
      if (open.some((t) => t.id === id)) continue;
      item.li.remove();
      this.items.delete(id);
    }
    for (const t of open) {
      const item = this.items.get(t.id) ?? this.item(t);
      this.items.set(t.id, item);
      item.transfer = t;
      item.li.dataset.inTransit = String(t.inTransit);
      item.what.textContent = `${t.inTransit} × ${t.product.name}`;
      item.meta.textContent = `${t.from.name} → ${t.to.name} · sent ${time(t.createdAt)}${t.received ? ` · ${t.received} of ${t.quantity} received` : ""}`;
      item.count.max = String(t.inTransit);
    }
    const current = [...this.els.list.children];
    const order = open.map((t) => this.items.get(t.id)!.li);
    if (current.length !== order.length || order.some((li, i) => current[i] !== li)) this.els.list.append(...order);
    this.els.empty.hidden = open.length > 0;
  }

  say(outcome: Outcome): void {
    this.els.result.textContent = outcome.message;
    this.els.result.className = `form-result ${outcome.ok ? "ok" : "error"}`;
  }

  private async send() {
    const { from, to, quantity } = this.els;
    const source = this.locations.find((l) => l.id === from.value);
    const target = this.locations.find((l) => l.id === to.value);
    const units = quantity.valueAsNumber;
    if (!source || !target) return this.say({ ok: false, message: "Pick where from and where to." });
    if (source === target) return this.say({ ok: false, message: "Pick two different locations." });
    if (!Number.isInteger(units) || units < 1) return this.say({ ok: false, message: "Send 1 unit or more." });
    const submit = this.els.form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    submit.disabled = true;
    try {
      this.say(await this.actions.send(source, target, units));
    } finally {
      submit.disabled = false;
    }
  }

  private item(transfer: OpenTransfer): Item {
    const what = h("span", { class: "transfer-items" });
    const meta = h("span", { class: "order-meta" });
    const label = `${transfer.product.name} from ${transfer.from.name} to ${transfer.to.name}`;
    const count = h("input", {
      class: "qty",
      attrs: { type: "number", inputmode: "numeric", min: 1, placeholder: "all", "aria-label": `Units of ${label} (empty: all)` },
    });
    const receive = h("button", { class: "button small", attrs: { type: "button", "aria-label": `Receive ${label}` }, text: "Receive" });
    const cancel = h("button", { class: "button small", attrs: { type: "button", "aria-label": `Cancel ${label}` }, text: "Cancel" });
    const li = h(
      "li",
      { class: "order transfer", dataset: { transferId: transfer.id } },
      h("div", { class: "order-main" }, what, meta),
      h("div", { class: "order-side" }, count, h("span", { class: "transfer-buttons" }, receive, cancel)),
    );
    const item: Item = { li, what, meta, count, transfer };
    const run = async (button: HTMLButtonElement, action: TransferActions["receive"]) => {
      const units = count.value.trim() === "" ? undefined : count.valueAsNumber;
      if (units !== undefined && (!Number.isInteger(units) || units < 1)) {
        return this.say({ ok: false, message: "Enter 1 unit or more, or leave it empty for all." });
      }
      button.disabled = true;
      try {
        const outcome = await action(item.transfer, units);
        if (outcome.ok) count.value = "";
        this.say(outcome);
      } finally {
        button.disabled = false;
      }
    };
    receive.addEventListener("click", () => void run(receive, (t, q) => this.actions.receive(t, q)));
    cancel.addEventListener("click", () => void run(cancel, (t, q) => this.actions.cancel(t, q)));
    return item;
  }
}
