// How numbers, IDs and stock levels read on the page.

/** At or below this many units a product shows "Low stock". */
export const LOW_STOCK = 5;

export type StockLevel = "in" | "low" | "out";

export function stockLevel(stock: number): StockLevel {
  return stock <= 0 ? "out" : stock <= LOW_STOCK ? "low" : "in";
}

export const STOCK_LABEL: Record<StockLevel, string> = { in: "In stock", low: "Low stock", out: "Sold out" };

const currencies = new Map<string, Intl.NumberFormat>();
export function money(cents: number, currency: string): string {
  let f = currencies.get(currency);
  if (!f) currencies.set(currency, (f = new Intl.NumberFormat("en", { style: "currency", currency })));
  return f.format(cents / 100);
}

/** "T3JkZXI6…" (base64 of "Order:<uuid>") -> the uuid's first 8 characters. */
export function shortId(globalId: string): string {
  try {
    return (atob(globalId).split(":")[1] ?? globalId).slice(0, 8);
  } catch {
    return globalId.slice(0, 8);
  }
}

const STATUS_LABEL: Record<string, string> = {
  PENDING: "Pending",
  CONFIRMED: "Confirmed",
  SHIPPED: "Shipped",
  DELIVERED: "Delivered",
  CANCELLED: "Cancelled",
};
export const statusLabel = (status: string) => STATUS_LABEL[status] ?? status;

/** The next step an admin can move an order to (PENDING -> CONFIRMED -> SHIPPED -> DELIVERED). */
export const NEXT_STATUS = { PENDING: "CONFIRMED", CONFIRMED: "SHIPPED", SHIPPED: "DELIVERED" } as const;

export function time(iso: string): string {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
