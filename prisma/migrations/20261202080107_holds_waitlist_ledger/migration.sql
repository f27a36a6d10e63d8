-- CreateEnum
CREATE TYPE "HoldStatus" AS ENUM ('ACTIVE', 'CONSUMED', 'RELEASED', 'EXPIRED');

-- CreateEnum
CREATE TYPE "WaitlistStatus" AS ENUM ('WAITING', 'OFFERED', 'FULFILLED', 'LAPSED', 'LEFT');

-- AlterTable
ALTER TABLE "product" ADD COLUMN     "reserved" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "hold" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "customer_id" UUID NOT NULL,
    "status" "HoldStatus" NOT NULL DEFAULT 'ACTIVE',
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "order_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "hold_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "hold_line" (
    "hold_id" UUID NOT NULL,
    "product_id" UUID NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "hold_line_pkey" PRIMARY KEY ("hold_id","product_id")
);

-- CreateTable
CREATE TABLE "stock_movement" (
    "id" BIGSERIAL NOT NULL,
    "product_id" UUID NOT NULL,
    "delta_on_hand" INTEGER NOT NULL,
    "delta_reserved" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "note" TEXT,
    "order_id" UUID,
    "hold_id" UUID,
    "actor" TEXT NOT NULL,
    "version_after" INTEGER NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stock_movement_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "waitlist_entry" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "product_id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "quantity" INTEGER NOT NULL,
    "status" "WaitlistStatus" NOT NULL DEFAULT 'WAITING',
    "hold_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "waitlist_entry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "hold_order_id_key" ON "hold"("order_id");

-- CreateIndex
CREATE INDEX "hold_customer_id_created_at_id_idx" ON "hold"("customer_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "hold_customer_id_idempotency_key_key" ON "hold"("customer_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "hold_line_product_id_idx" ON "hold_line"("product_id");

-- CreateIndex
CREATE INDEX "stock_movement_product_id_id_idx" ON "stock_movement"("product_id", "id");

-- CreateIndex
CREATE INDEX "waitlist_entry_product_id_status_created_at_id_idx" ON "waitlist_entry"("product_id", "status", "created_at", "id");

-- CreateIndex
CREATE INDEX "waitlist_entry_customer_id_created_at_id_idx" ON "waitlist_entry"("customer_id", "created_at", "id");

-- AddForeignKey
ALTER TABLE "hold" ADD CONSTRAINT "hold_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "hold_line" ADD CONSTRAINT "hold_line_hold_id_fkey" FOREIGN KEY ("hold_id") REFERENCES "hold"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "hold_line" ADD CONSTRAINT "hold_line_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "product"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stock_movement" ADD CONSTRAINT "stock_movement_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "product"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "waitlist_entry" ADD CONSTRAINT "waitlist_entry_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "product"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "waitlist_entry" ADD CONSTRAINT "waitlist_entry_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "waitlist_entry" ADD CONSTRAINT "waitlist_entry_hold_id_fkey" FOREIGN KEY ("hold_id") REFERENCES "hold"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Hand-added: invariants and indexes Prisma's schema language cannot express.
ALTER TABLE "product" ADD CONSTRAINT "product_reserved_non_negative" CHECK ("reserved" >= 0);
ALTER TABLE "hold_line" ADD CONSTRAINT "hold_line_quantity_positive" CHECK ("quantity" > 0);
ALTER TABLE "waitlist_entry" ADD CONSTRAINT "waitlist_entry_quantity_positive" CHECK ("quantity" > 0);
-- The sweeper's and every write's "ACTIVE holds past their expiry": few rows, found without scanning live holds.
CREATE INDEX "hold_active_expires_at_idx" ON "hold" ("expires_at") WHERE "status" = 'ACTIVE';
-- One place in line per customer and product.
CREATE UNIQUE INDEX "waitlist_entry_open_key" ON "waitlist_entry" ("product_id", "customer_id") WHERE "status" IN ('WAITING', 'OFFERED');
-- The ledger opens with each existing product's stock, so sum(delta_on_hand) = stock holds from here on.
INSERT INTO "stock_movement" ("product_id", "delta_on_hand", "delta_reserved", "reason", "note", "actor", "version_after")
SELECT "id", "stock", 0, 'CREATED', 'opening balance', 'system', "version" FROM "product";
