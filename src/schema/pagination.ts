// Connection arguments -> a keyset page request, with the page size bounded.
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from "@pothos/plugin-relay";
import type { DefaultConnectionArguments } from "@pothos/plugin-relay";
import { ValidationError } from "../errors/domain-errors.js";
import { encodeCursor, type Keyset, type PageRequest } from "../db/keyset.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function keysetConnection<T extends Keyset>(args: DefaultConnectionArguments, fetch: (page: PageRequest) => Promise<T[]>) {
  for (const arg of ["first", "last"] as const) {
    const n = args[arg];
    if (n != null && n < 0) throw new ValidationError(arg, `${arg} must not be negative`);
  }
  return resolveCursorConnection(
    { args, defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE, toCursor: (row: T) => encodeCursor(row) },
    ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) => fetch({ after, before, limit, inverted }),
  );
}
