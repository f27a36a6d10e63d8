// Opaque keyset cursors over (created_at, id): stable under inserts, and each
// page is an index range scan rather than an OFFSET.
import { InvalidCursorError } from "../errors/domain-errors.js";
import { isUuid } from "../ids/index.js";
export interface Keyset {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: Keyset): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");
}

/** Returns null for anything that is not a cursor this API produced. */
export function decodeCursor(cursor: string): Keyset | null {
  const [iso, id, extra] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (!iso || !id || extra !== undefined) return null;
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || !isUuid(id)) return null;
  return { createdAt, id };
}

export interface PageRequest {
  after?: string;
  before?: string;
  limit: number;
  /** true when paging backwards (`last`/`before`): rows come newest-first. */
  inverted: boolean;
}

/** The keyset bounds of a page; throws InvalidCursorError for a cursor this API did not make. */
export function pageBounds(page: PageRequest): { after?: Keyset; before?: Keyset } {
  const after = page.after ? decodeCursor(page.after) : undefined;
  const before = page.before ? decodeCursor(page.before) : undefined;
  if (after === null || before === null) throw new InvalidCursorError();
  return { after, before };
}

/** Prisma where/orderBy for one keyset page, ordering by (createdAt, id). */
export function keysetQuery(page: PageRequest) {
  const { after, before } = pageBounds(page);
  const gt = (k: Keyset) => ({ OR: [{ createdAt: { gt: k.createdAt } }, { createdAt: k.createdAt, id: { gt: k.id } }] });
  const lt = (k: Keyset) => ({ OR: [{ createdAt: { lt: k.createdAt } }, { createdAt: k.createdAt, id: { lt: k.id } }] });
  const dir = page.inverted ? ("desc" as const) : ("asc" as const);
  return {
    where: { AND: [...(after ? [gt(after)] : []), ...(before ? [lt(before)] : [])] },
    orderBy: [{ createdAt: dir }, { id: dir }],
    take: page.limit,
  };
}
