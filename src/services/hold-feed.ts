// subscription { myHolds }: the calling customer's holds, live. First every
// ACTIVE hold, then each hold of theirs that is placed (a waitlist offer
// included), consumed, released or expires. No channel of its own: hold
// changes already travel as stock-changed events (outbox -> Kafka -> Redis)
// carrying holdId, so this watches, through the process's StockHub, the
// products the customer holds or waits for (as of subscribing) and reads the
// hold an event names (by primary key) when it is, or may be, theirs.
import { idOfType } from "../ids/index.js";
import { requireCustomer, expiresAt, type RequestContext } from "../auth/viewer.js";
import type { DbClient } from "../db/database.js";
import type { HoldRow } from "../db/hold.sql.js";
import type { HoldService } from "./hold.service.js";
import { liveFeed } from "./live-feed.js";
import type { StockHub } from "./stock-hub.js";

export type HoldChange = HoldRow & { key: string; version: number };

const change = (h: HoldRow): HoldChange => ({ ...h, key: h.id, version: h.updatedAt.getTime() });

export async function myHoldsFeed(
  ctx: RequestContext,
  deps: { prisma: DbClient; holds: HoldService; stock: StockHub },
): Promise<AsyncIterable<HoldChange>> {
  const customerId = requireCustomer(ctx);
  const [lines, waiting] = await Promise.all([
    deps.prisma.holdLine.findMany({ where: { hold: { customerId, status: "ACTIVE" } }, select: { productId: true } }),
    deps.prisma.waitlistEntry.findMany({ where: { customerId, status: { in: ["WAITING", "OFFERED"] } }, select: { productId: true } }),
  ]);
  const productIds = [...new Set([...lines, ...waiting].map((r) => r.productId))];
  return liveFeed<HoldChange>({
    subscribe: async (onChange) => {
      const stops = await Promise.all(
        productIds.map((id) =>
          deps.stock.watch(id, (c) => {
            const holdId = c.holdId && c.reason.startsWith("HOLD_") ? idOfType("Hold", c.holdId) : null;
            if (!holdId) return;
            void deps.holds.byIds([holdId]).then(
              ([h]) => h && h.customerId === customerId && onChange(change(h)),
              () => {},
            );
          }),
        ),
      );
      return () => stops.forEach((stop) => stop());
    },
    current: async () =>
      (await deps.prisma.hold.findMany({ where: { customerId, status: "ACTIVE" }, orderBy: { createdAt: "asc" } })).map(change),
    expiresAt: expiresAt(ctx),
  });
}
