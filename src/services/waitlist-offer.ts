// Units that come back (a restock, a cancelled order, a hold released or
// expired) go to the waitlist before anyone else can take them: inside the
// transaction that freed them, the product's WAITING entries, in line order,
// each get a hold for their whole quantity if it still fits (an entry that
// does not fit keeps its place for the next units, and later ones that fit
// are served), and only what is left becomes available to everyone.
import type { DbTransaction } from "../db/database.js";
import { lockAvailable, lockWaiting, reserveAtomically } from "../db/hold.sql.js";

export interface Offer {
  entryId: string;
  customerId: string;
  holdId: string;
}

/** Offers what is available of each product to its waitlist; call with the products already locked by `tx`, in id order. */
export async function offerToWaitlist(tx: DbTransaction, productIds: readonly string[], ttlSeconds: number): Promise<Offer[]> {
  const offers: Offer[] = [];
  for (const productId of [...new Set(productIds)].sort()) {
    let available = await lockAvailable(tx, productId);
    if (!available || available <= 0) continue;
    for (const entry of await lockWaiting(tx, productId)) {
      if (available <= 0) break;
      if (entry.quantity > available) continue;
      const { hold } = await reserveAtomically(tx, {
        customerId: entry.customerId,
        idempotencyKey: `waitlist:${entry.id}`,
        lines: [{ productId, quantity: entry.quantity }],
        ttlSeconds,
        actor: "system",
        note: "waitlist",
      });
      if (!hold) continue; // cannot happen under the product lock; the entry keeps its place
      await tx.waitlistEntry.update({ where: { id: entry.id }, data: { status: "OFFERED", holdId: hold.id } });
      offers.push({ entryId: entry.id, customerId: entry.customerId, holdId: hold.id });
      available -= entry.quantity;
    }
  }
  return offers;
}
