// Bulk import: startBulkImport (a CSV or JSONL file, multipart), the
// BulkOperation job with its progress and row errors, cancelBulkOperation,
// and subscription bulkOperationChanged (its progress, live).
// Admin only. Resolvers only translate; BulkImportService owns the rules.
import { resolveOffsetConnection } from "@pothos/plugin-relay";
import { BulkImportFileError, NotFoundError } from "../errors/domain-errors.js";
import type { BulkOperationErrorRow, BulkOperationRow } from "../services/bulk-import.service.js";
import { builder } from "./builder.js";
import { mutationResult } from "./errors.js";
import { withCodedErrors } from "./mask-error.js";
import { fromGlobalId } from "./ids.js";
import { MAX_PAGE_SIZE, requirePageArgs } from "./pagination.js";

const BulkOperationRef = builder.objectRef<BulkOperationRow>("BulkOperation");
const BulkOperationErrorRef = builder.objectRef<BulkOperationErrorRow>("BulkOperationError");

const BulkImportModeEnum = builder.enumType("BulkImportMode", {
  values: {
    UPSERT: { description: "Create products that are new, update those that exist (by SKU), set the levels given" },
    CREATE_ONLY: { description: "As UPSERT, but a row whose SKU exists already is an error" },
  } as const,
});

const BulkOperationStatusEnum = builder.enumType("BulkOperationStatus", {
  values: {
    QUEUED: { description: "Waiting for the runner (one import runs at a time)" },
    RUNNING: { description: "Rows are being written" },
    COMPLETED: { description: "Every row was written or reported in errors" },
    FAILED: { description: "Stopped by a failure of the server; rowsDone rows were written" },
    CANCELLED: { description: "Stopped by cancelBulkOperation; rowsDone rows were written" },
  } as const,
});

builder.objectType(BulkOperationErrorRef, {
  description: "A row of the file that was not written, and why",
  fields: (t) => ({
    row: t.exposeInt("row", { description: "The row of the file: 1 is the first after the header (CSV) or the first object (JSONL)" }),
    column: t.exposeString("column", { nullable: true, description: "The column at fault, when one is" }),
    message: t.exposeString("message"),
  }),
});

builder.node(BulkOperationRef, {
  id: { resolve: (o) => o.id },
  description: "A bulk import job",
  fields: (t) => ({
    status: t.field({ type: BulkOperationStatusEnum, resolve: (o) => o.status }),
    mode: t.field({ type: BulkImportModeEnum, resolve: (o) => o.mode }),
    rowsTotal: t.exposeInt("rowsTotal", { description: "Rows in the file" }),
    rowsDone: t.exposeInt("rowsDone", { description: "Rows written or refused so far" }),
    rowsFailed: t.exposeInt("rowsFailed", { description: "Rows refused (see errors)" }),
    startedAt: t.expose("startedAt", { type: "DateTime", nullable: true }),
    finishedAt: t.expose("finishedAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    version: t.exposeInt("version"),
    errors: t.connection({
      type: BulkOperationErrorRef,
      description: "The rows refused, in the order they were found (forward pages)",
      resolve: (o, args, ctx, info) => {
        requirePageArgs(args);
        const watched = info.operation.operation === "subscription";
        return resolveOffsetConnection({ args, defaultSize: 20, maxSize: MAX_PAGE_SIZE }, ({ offset, limit }) =>
          ctx.services.bulkImports.errors(o.id, offset, limit, watched),
        );
      },
    }),
  }),
});

builder.queryFields((t) => ({
  bulkOperation: t.field({
    type: BulkOperationRef,
    nullable: true,
    description: "Admin only (null for anyone else)",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const uuid = fromGlobalId("BulkOperation", String(id));
      return uuid ? ((await ctx.services.bulkImports.byIds(ctx, [uuid]))[0] ?? null) : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  startBulkImport: t.field({
    type: BulkOperationRef,
    description:
      "Admin only. Uploads a CSV (header row first) or JSONL file of products and levels, columns sku, name, description, price_cents, currency, location, on_hand (as GET /export/products.csv writes them); returns the job at once, QUEUED",
    args: {
      file: t.arg({ type: "File", required: true }),
      mode: t.arg({ type: BulkImportModeEnum, required: true }),
    },
    errors: mutationResult("StartBulkImport", "bulkOperation", [BulkImportFileError]),
    resolve: (_root, { file, mode }, ctx) => ctx.services.bulkImports.start(ctx, file, mode),
  }),
  cancelBulkOperation: t.field({
    type: BulkOperationRef,
    description: "Admin only. Stops an import after the chunk being written; the rows written stay. A finished job is returned as it is",
    args: { id: t.arg.id({ required: true }) },
    errors: mutationResult("CancelBulkOperation", "bulkOperation", [NotFoundError]),
    resolve: (_root, { id }, ctx) => ctx.services.bulkImports.cancel(ctx, fromGlobalId("BulkOperation", String(id))),
  }),
}));

builder.subscriptionFields((t) => ({
  bulkOperationChanged: t.field({
    type: BulkOperationRef,
    description:
      "Admin only. The job now, then as its chunks commit (at most 4 updates a second, each the newest state), " +
      "then its final state (COMPLETED, FAILED or CANCELLED), after which the subscription completes",
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, { id }, ctx) =>
      withCodedErrors(await ctx.services.bulkImports.changes(ctx, fromGlobalId("BulkOperation", String(id)))),
    resolve: (op) => op,
  }),
}));
