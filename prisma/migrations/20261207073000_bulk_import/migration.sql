-- Bulk import jobs (startBulkImport): the file is parsed and staged at upload (bulk_operation_row), so a
-- runner that dies resumes from rows_done and never writes a row twice (rows_done advances in the
-- transaction that writes the chunk).
CREATE TYPE "BulkOperationStatus" AS ENUM ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED');

CREATE TABLE "bulk_operation" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "status" "BulkOperationStatus" NOT NULL DEFAULT 'QUEUED',
    "mode" TEXT NOT NULL,
    "rows_total" INTEGER NOT NULL,
    "rows_done" INTEGER NOT NULL DEFAULT 0,
    "rows_failed" INTEGER NOT NULL DEFAULT 0,
    "actor" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "heartbeat_at" TIMESTAMPTZ(3),
    "claimed_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "version" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "bulk_operation_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "bulk_operation_mode" CHECK ("mode" IN ('UPSERT', 'CREATE_ONLY')),
    CONSTRAINT "bulk_operation_rows" CHECK ("rows_done" >= 0 AND "rows_failed" >= 0 AND "rows_done" <= "rows_total")
);

-- The runner's claim: the oldest waiting job.
CREATE INDEX "bulk_operation_status_created_at_idx" ON "bulk_operation"("status", "created_at");

CREATE TABLE "bulk_operation_row" (
    "operation_id" UUID NOT NULL,
    "row" INTEGER NOT NULL,
    "data" JSONB NOT NULL,
    CONSTRAINT "bulk_operation_row_pkey" PRIMARY KEY ("operation_id", "row"),
    CONSTRAINT "bulk_operation_row_operation_id_fkey" FOREIGN KEY ("operation_id") REFERENCES "bulk_operation"("id") ON DELETE CASCADE
);

CREATE TABLE "bulk_operation_error" (
    "id" BIGSERIAL NOT NULL,
    "operation_id" UUID NOT NULL,
    "row" INTEGER NOT NULL,
    "column" TEXT,
    "message" TEXT NOT NULL,
    CONSTRAINT "bulk_operation_error_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "bulk_operation_error_operation_id_fkey" FOREIGN KEY ("operation_id") REFERENCES "bulk_operation"("id") ON DELETE CASCADE
);

CREATE INDEX "bulk_operation_error_operation_id_id_idx" ON "bulk_operation_error"("operation_id", "id");
