-- AlterTable
ALTER TABLE "customer" ADD COLUMN     "customer_group" TEXT;

-- AlterTable
ALTER TABLE "order_item" ADD COLUMN     "price_list_id" UUID;

-- AlterTable
ALTER TABLE "product" ADD COLUMN     "price_version" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "price_list" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "customer_group" TEXT NOT NULL,
    "starts_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "priority" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "price_list_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "price_list_entry" (
    "price_list_id" UUID NOT NULL,
    "product_id" UUID NOT NULL,
    "unit_price_cents" INTEGER NOT NULL,
    "tiers" JSONB NOT NULL DEFAULT '[]',
    "version" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "price_list_entry_pkey" PRIMARY KEY ("price_list_id","product_id")
);

-- CreateTable
CREATE TABLE "price_change" (
    "id" BIGSERIAL NOT NULL,
    "price_list_id" UUID NOT NULL,
    "product_id" UUID NOT NULL,
    "from_unit_price_cents" INTEGER,
    "from_tiers" JSONB,
    "to_unit_price_cents" INTEGER NOT NULL,
    "to_tiers" JSONB NOT NULL,
    "actor" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "price_change_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "price_list_code_key" ON "price_list"("code");

-- CreateIndex
CREATE INDEX "price_list_customer_group_idx" ON "price_list"("customer_group");

-- CreateIndex
CREATE INDEX "price_list_created_at_id_idx" ON "price_list"("created_at", "id");

-- CreateIndex
CREATE INDEX "price_list_entry_product_id_idx" ON "price_list_entry"("product_id");

-- CreateIndex
CREATE INDEX "price_change_price_list_id_product_id_id_idx" ON "price_change"("price_list_id", "product_id", "id");

-- AddForeignKey
ALTER TABLE "order_item" ADD CONSTRAINT "order_item_price_list_id_fkey" FOREIGN KEY ("price_list_id") REFERENCES "price_list"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price_list_entry" ADD CONSTRAINT "price_list_entry_price_list_id_fkey" FOREIGN KEY ("price_list_id") REFERENCES "price_list"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price_list_entry" ADD CONSTRAINT "price_list_entry_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "product"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price_change" ADD CONSTRAINT "price_change_price_list_id_fkey" FOREIGN KEY ("price_list_id") REFERENCES "price_list"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "price_change" ADD CONSTRAINT "price_change_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "product"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- By hand: what Prisma cannot express.
ALTER TABLE "price_list" ADD CONSTRAINT "price_list_dates" CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at);
ALTER TABLE "price_list_entry" ADD CONSTRAINT "price_list_entry_price" CHECK (unit_price_cents >= 0);
ALTER TABLE "price_list_entry" ADD CONSTRAINT "price_list_entry_tiers" CHECK (jsonb_typeof(tiers) = 'array');
