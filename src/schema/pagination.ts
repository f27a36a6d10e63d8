// Connection arguments -> a keyset page request, with the page size bounded.
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from "@pothos/plugin-relay";
import type { DefaultConnectionArguments } from "@pothos/plugin-relay";
import { ValidationError } from "../errors/domain-errors.js";
import { encodeCursor, type Keyset, type PageRequest } from "../db/keyset.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** The descriptions of every connection's first and last (set in builder.ts). */
export const PAGE_SIZE_ARGS = {
  firstArgOptions: {
    description: `The first n after the cursor: at most ${MAX_PAGE_SIZE} (a larger n is cut to ${MAX_PAGE_SIZE}), ${DEFAULT_PAGE_SIZE} when neither first nor last is given. Not with last`,
  },
  lastArgOptions: {
    description: `The last n before the cursor: at most ${MAX_PAGE_SIZE} (a larger n is cut to ${MAX_PAGE_SIZE}). Not with first`,
  },
};

/** Refuses page sizes the plugin would misread: negative ones, and first with last (it would page by first, ignoring last). */
export function requirePageArgs(args: DefaultConnectionArguments) {
  if (args.first != null && args.last != null) throw new ValidationError("last", "Give first or last, not both");
  for (const arg of ["first", "last"] as const) {
    const n = args[arg];
    if (n != null && n < 0) throw new ValidationError(arg, `${arg} must not be negative`);
  }
}

export function keysetConnection<T extends Keyset>(args: DefaultConnectionArguments, fetch: (page: PageRequest) => Promise<T[]>) {
  requirePageArgs(args);
  return resolveCursorConnection(
    { args, defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE, toCursor: (row: T) => encodeCursor(row) },
    ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) => fetch({ after, before, limit, inverted }),
  );
}
