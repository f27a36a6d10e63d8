// Read replicas, per operation (db/replicas.ts decides which replica): a
// query's reads may go to a replica that has replayed the viewer's own latest
// write; a mutation reads and writes on the primary throughout, and once it has
// run, the viewer's later queries wait for a replica that has replayed it
// (read-your-writes; the positions are kept by db/write-marks.ts, in Redis when
// there is one, so every API instance knows). Subscriptions stay on the
// primary: a live snapshot older than the events after it would show stale
// stock until the next change.
import { getOperationAST } from "graphql";
import type { Plugin } from "graphql-yoga";
import { writerOf } from "../auth/viewer.js";
import type { Reads } from "../db/replicas.js";
import type { WriteMarks } from "../db/write-marks.js";
import { readOnlyContext, type GraphQLContext } from "./context.js";

export function useReadRouting(reads: Reads, marks: WriteMarks): Plugin<GraphQLContext> {
  return {
    async onExecute({ args, extendContext }) {
      const ctx = args.contextValue as GraphQLContext;
      const writer = writerOf(ctx.viewer);
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      if (operation === "query") {
        const after = writer === undefined ? undefined : await marks.get(writer);
        extendContext(readOnlyContext(ctx, after === undefined ? {} : { after }));
        return;
      }
      // Before the response leaves: the viewer's next request already knows.
      if (operation === "mutation" && writer !== undefined) {
        return { onExecuteDone: async () => marks.set(writer, await reads.position(), reads.positionTtlMs) };
      }
    },
  };
}
