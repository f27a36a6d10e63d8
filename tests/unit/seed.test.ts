import { expect, it } from "vitest";
import { demoCustomers, demoProducts } from "../../src/db/seed.js";

it("the demo catalogue is realistic: hundreds of unique SKUs, prices, in-stock, low and sold-out items", () => {
  const products = demoProducts();
  expect(products.length).toBeGreaterThanOrEqual(200);
  expect(new Set(products.map((p) => p.sku)).size).toBe(products.length);
  expect(products.every((p) => p.priceCents > 0 && p.stock >= 0)).toBe(true);
  expect(products.some((p) => p.stock === 0)).toBe(true);
  expect(products.some((p) => p.stock > 0 && p.stock <= 5)).toBe(true);
  expect(products.some((p) => p.stock > 20)).toBe(true);
  expect(demoProducts()).toEqual(products); // deterministic
  expect(new Set(demoCustomers().map((c) => c.email)).size).toBe(demoCustomers().length);
});
