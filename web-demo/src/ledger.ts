// A product's counts over time from its stock ledger: pure arithmetic, apart
// from the chart (ledger-chart.ts) so it can be tested without a browser.

/** The fields of a StockMovement the walk needs. */
export interface Movement {
  deltaOnHand: number;
  deltaReserved: number;
  occurredAt: string;
}

export interface LedgerPoint {
  /** Seconds since the epoch (the movement's commit time). */
  at: number;
  onHand: number;
  reserved: number;
}

/**
 * The counts after each movement, oldest first. The ledger starts with the
 * product's CREATED movement, so the whole of it adds up from 0 exactly; with
 * only its newest part, walk back from the product's counts as read with it.
 * (Walking back, reserved starts from Product.reserved, which already leaves
 * out holds that lapsed but that the sweeper has not yet written off.)
 */
export function stockAfterEach(
  newestFirst: readonly Movement[],
  whole: boolean,
  current: { stock: number; reserved: number },
): LedgerPoint[] {
  const points: LedgerPoint[] = [];
  if (whole) {
    let onHand = 0;
    let reserved = 0;
    for (const m of [...newestFirst].reverse()) {
      onHand += m.deltaOnHand;
      reserved += m.deltaReserved;
      points.push({ at: Date.parse(m.occurredAt) / 1000, onHand, reserved });
    }
    return points;
  }
  let { stock: onHand, reserved } = current;
  for (const m of newestFirst) {
    points.push({ at: Date.parse(m.occurredAt) / 1000, onHand, reserved });
    onHand -= m.deltaOnHand;
    reserved -= m.deltaReserved;
  }
  return points.reverse();
}
