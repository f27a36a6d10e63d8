// A few DOM helpers, so the views stay plain TypeScript without a framework.

type Child = Node | string | number | null | undefined | false;
type Props = {
  class?: string;
  text?: string;
  dataset?: Record<string, string>;
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: Partial<{ [E in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[E]) => void }>;
};

/** h("button", { class: "primary", attrs: { type: "submit" } }, "Order") */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  for (const [k, v] of Object.entries(props.dataset ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    if (v === false || v === undefined) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const [type, listener] of Object.entries(props.on ?? {})) el.addEventListener(type, listener as EventListener);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

/** Restarts a one-shot CSS animation class (the brief visual cue on a change). */
export function cue(el: HTMLElement, className: string): void {
  el.classList.remove("cue-up", "cue-down", "cue");
  void el.offsetWidth; // reflow, so the same class animates again
  el.classList.add(className);
}

/** Unique enough for idempotency keys, also outside secure contexts (no crypto.randomUUID). */
export function uniqueKey(prefix: string): string {
  const random = Array.from(crypto.getRandomValues(new Uint32Array(3)), (n) => n.toString(36)).join("");
  return `${prefix}-${Date.now().toString(36)}-${random}`;
}
