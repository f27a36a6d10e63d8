// The admin's table of one product's stock per location: a row per location
// (code, name) with on hand, committed, reserved, incoming and available, and
// under each row a form, opened by its Adjust button, that changes that level
// (adjustStock: a change with a reason and a note) or sets a counted quantity
// (setOnHand, compare-and-set on the level's version as read).
//
// Rows are kept per location and updated in place, so a refresh (after an
// action, or on a live change) leaves an open form and what was typed in it.
// Outcomes, refusals included, are written to the table's status line.
import { cue, h } from "./dom";
import { ADJUSTMENT_REASONS, type AdjustmentReason } from "./adjustment-reasons";

export interface LocationInfo {
  id: string;
  code: string;
  name: string;
  active: boolean;
  fulfilsOrders: boolean;
  priority: number;
}

export interface Level {
  onHand: number;
  committed: number;
  reserved: number;
  incoming: number;
  available: number;
  /** The level's version, for setOnHand (0 where the product has no level yet). */
  version: number;
}

export const NO_LEVEL: Level = { onHand: 0, committed: 0, reserved: 0, incoming: 0, available: 0, version: 0 };

export interface Outcome {
  ok: boolean;
  message: string;
}

export interface LevelActions {
  adjust(location: LocationInfo, delta: number, reason: AdjustmentReason, note: string): Promise<Outcome>;
  setOnHand(location: LocationInfo, onHand: number, expectedVersion: number, note: string): Promise<Outcome>;
}

const FIELDS = ["onHand", "committed", "reserved", "incoming", "available"] as const;

interface Row {
  location: LocationInfo;
  level: Level;
  tr: HTMLTableRowElement;
  formRow: HTMLTableRowElement;
  name: HTMLElement;
  cells: Record<(typeof FIELDS)[number], HTMLTableCellElement>;
  counted: HTMLInputElement;
}

let forms = 0;

export class LevelTable {
  private readonly rows = new Map<string, Row>();

  constructor(
    private readonly els: { body: HTMLTableSectionElement; empty: HTMLElement; result: HTMLElement },
    private readonly actions: LevelActions,
  ) {}

  /** The product's levels at the active locations (allocation order), or none without a product. */
  show(locations: LocationInfo[] | undefined, levels: Map<string, Level>): void {
    const shown = locations ?? [];
    for (const [id, row] of this.rows) {
      if (shown.some((l) => l.id === id)) continue;
      row.tr.remove();
      row.formRow.remove();
      this.rows.delete(id);
    }
    const order: HTMLTableRowElement[] = [];
    for (const location of shown) {
      const row = this.rows.get(location.id) ?? this.row(location);
      this.rows.set(location.id, row);
      row.location = location;
      row.name.textContent = location.name;
      this.update(row, levels.get(location.id) ?? NO_LEVEL);
      order.push(row.tr, row.formRow);
    }
    // In allocation order. Only when it changed: moving a row would take the focus out of its form.
    const current = [...this.els.body.children];
    if (current.length !== order.length || order.some((tr, i) => current[i] !== tr)) this.els.body.append(...order);
    this.els.empty.hidden = shown.length > 0;
  }

  say(outcome: Outcome): void {
    this.els.result.textContent = outcome.message;
    this.els.result.className = `form-result ${outcome.ok ? "ok" : "error"}`;
  }

  private update(row: Row, level: Level) {
    const before = row.tr.dataset.version === undefined ? undefined : row.level;
    row.level = level;
    for (const field of FIELDS) {
      const cell = row.cells[field];
      if (cell.textContent === String(level[field])) continue;
      cell.textContent = String(level[field]);
      if (before) cue(cell, level[field] < before[field] ? "cue-down" : "cue-up");
    }
    row.tr.dataset.version = String(level.version);
    // The counted quantity starts from what is on record, until the admin types another.
    if (document.activeElement !== row.counted && !row.counted.dataset.edited) row.counted.value = String(level.onHand);
  }

  private row(location: LocationInfo): Row {
    const n = ++forms;
    const id = (what: string) => `level-${n}-${what}`;
    const name = h("span", { class: "level-name", text: location.name });
    const toggle = h("button", {
      class: "button small",
      attrs: { type: "button", "aria-expanded": "false", "aria-controls": id("form"), "aria-label": `Adjust stock at ${location.name}` },
      text: "Adjust",
    });
    const cells = Object.fromEntries(FIELDS.map((f) => [f, h("td", { class: "num", dataset: { field: f }, text: "–" })])) as Row["cells"];
    const tr = h(
      "tr",
      { dataset: { locationId: location.id, locationCode: location.code } },
      h("th", { attrs: { scope: "row" } }, h("span", { class: "level-code", text: location.code }), name, toggle),
      ...FIELDS.map((f) => cells[f]),
    );

    const delta = h("input", { attrs: { id: id("delta"), type: "number", inputmode: "numeric", value: 10, required: true } });
    const reason = h(
      "select",
      { attrs: { id: id("reason"), "aria-describedby": id("hint") } },
      ...Object.entries(ADJUSTMENT_REASONS).map(([value, r]) => h("option", { attrs: { value }, text: r.label })),
    );
    const hint = h("p", { class: "hint reason-hint", attrs: { id: id("hint") } });
    const showHint = () => (hint.textContent = ADJUSTMENT_REASONS[reason.value as AdjustmentReason].hint);
    reason.addEventListener("change", showHint);
    showHint();
    const note = h("input", { attrs: { id: id("note"), type: "text", maxlength: 200, placeholder: "e.g. delivery 4711" } });
    const adjust = h("button", { class: "button primary", attrs: { type: "submit" }, text: "Adjust" });
    const counted = h("input", { attrs: { id: id("counted"), type: "number", inputmode: "numeric", min: 0, required: true } });
    counted.addEventListener("input", () => (counted.dataset.edited = "true"));
    const setCount = h("button", { class: "button secondary", attrs: { type: "submit" }, text: "Set count" });

    const adjustForm = h(
      "form",
      { class: "stack level-adjust", attrs: { "aria-label": `Adjust stock at ${location.name}` } },
      h(
        "div",
        { class: "row" },
        h("div", { class: "stack" }, h("label", { attrs: { for: id("delta") }, text: "Change" }), delta),
        h("div", { class: "stack grow" }, h("label", { attrs: { for: id("reason") }, text: "Reason" }), reason),
      ),
      hint,
      h("label", { attrs: { for: id("note") }, text: "Note" }),
      note,
      adjust,
    );
    const countForm = h(
      "form",
      { class: "stack level-count", attrs: { "aria-label": `Count at ${location.name}` } },
      h("label", { attrs: { for: id("counted") }, text: "Counted on hand" }),
      h("div", { class: "count-actions" }, counted, setCount),
    );
    const formRow = h("tr", { class: "level-form-row" }, h("td", { attrs: { colspan: 6, id: id("form") } }, adjustForm, countForm));
    formRow.hidden = true;
    toggle.addEventListener("click", () => {
      formRow.hidden = !formRow.hidden;
      toggle.setAttribute("aria-expanded", String(!formRow.hidden));
      if (!formRow.hidden) delta.focus();
    });

    const row: Row = { location, level: NO_LEVEL, tr, formRow, name, cells, counted };
    const run = async (button: HTMLButtonElement, action: () => Promise<Outcome>) => {
      button.disabled = true;
      try {
        this.say(await action());
      } finally {
        button.disabled = false;
      }
    };
    adjustForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const change = delta.valueAsNumber;
      if (!Number.isInteger(change) || change === 0) return this.say({ ok: false, message: "Enter a whole number other than 0." });
      void run(adjust, () => this.actions.adjust(row.location, change, reason.value as AdjustmentReason, note.value.trim()));
    });
    countForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const onHand = counted.valueAsNumber;
      if (!Number.isInteger(onHand) || onHand < 0) return this.say({ ok: false, message: "Enter the counted quantity: 0 or more." });
      void run(setCount, async () => {
        const outcome = await this.actions.setOnHand(row.location, onHand, row.level.version, note.value.trim());
        if (outcome.ok) delete counted.dataset.edited;
        return outcome;
      });
    });
    return row;
  }
}
