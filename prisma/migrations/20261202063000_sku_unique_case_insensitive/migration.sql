-- SKUs are unique regardless of case ("sw-1" and "SW-1" are one SKU). An
-- expression index, which schema.prisma cannot express: written by hand.
CREATE UNIQUE INDEX "product_sku_lower_key" ON "product" (lower("sku"));
