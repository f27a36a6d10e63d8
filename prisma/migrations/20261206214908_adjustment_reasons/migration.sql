-- Why an adjustStock or setOnHand changed a level (an AdjustmentReason); the ledger's reason stays the
-- stock-change reason the events carry (RESTOCK, ADJUSTMENT, ...). Null on every other row.

-- AlterTable
ALTER TABLE "stock_movement" ADD COLUMN     "adjustment_reason" TEXT;
