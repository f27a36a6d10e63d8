// The price rule, table-driven: one row per case the issue names.
import { describe, expect, it } from "vitest";
import { choosePrice, type CandidateList } from "../../src/services/pricing/price-rule.js";
import { requireSameCurrency, requireTiers } from "../../src/services/pricing/price-entry.js";
import { ValidationError } from "../../src/errors/domain-errors.js";

const now = new Date("2026-12-07T12:00:00Z");
const hour = 3_600_000;
const base = { unitPriceCents: 1999, currency: "EUR" };

const list = (over: Partial<CandidateList> & { id: string }): CandidateList => ({
  customerGroup: "members",
  currency: "EUR",
  priority: 0,
  startsAt: null,
  endsAt: null,
  entry: {
    unitPriceCents: 1899,
    tiers: [
      { minQuantity: 3, unitPriceCents: 1799 },
      { minQuantity: 10, unitPriceCents: 1599 },
    ],
  },
  ...over,
});

const cases: { name: string; quantity: number; group: string | null; candidates: CandidateList[]; want: [number, string | null] }[] = [
  { name: "no group: base price", quantity: 5, group: null, candidates: [list({ id: "a" })], want: [1999, null] },
  { name: "group without a list: base price", quantity: 5, group: "staff", candidates: [list({ id: "a" })], want: [1999, null] },
  { name: "below the first tier: the entry's price", quantity: 2, group: "members", candidates: [list({ id: "a" })], want: [1899, "a"] },
  { name: "exactly a tier's minQuantity", quantity: 3, group: "members", candidates: [list({ id: "a" })], want: [1799, "a"] },
  { name: "between tiers: the lower one", quantity: 9, group: "members", candidates: [list({ id: "a" })], want: [1799, "a"] },
  { name: "past the highest tier", quantity: 500, group: "members", candidates: [list({ id: "a" })], want: [1599, "a"] },
  {
    name: "tiers out of order still give the highest reached",
    quantity: 12,
    group: "members",
    candidates: [
      list({
        id: "a",
        entry: {
          unitPriceCents: 1899,
          tiers: [
            { minQuantity: 10, unitPriceCents: 1500 },
            { minQuantity: 3, unitPriceCents: 1700 },
          ],
        },
      }),
    ],
    want: [1500, "a"],
  },
  {
    name: "overlapping lists: lowest priority number wins",
    quantity: 1,
    group: "members",
    candidates: [list({ id: "a", priority: 5 }), list({ id: "b", priority: 1, entry: { unitPriceCents: 1500, tiers: [] } })],
    want: [1500, "b"],
  },
  {
    name: "equal priority: lowest id, whatever the order given",
    quantity: 1,
    group: "members",
    candidates: [list({ id: "b", entry: { unitPriceCents: 1500, tiers: [] } }), list({ id: "a" })],
    want: [1899, "a"],
  },
  {
    name: "another group's better list is not seen",
    quantity: 1,
    group: "members",
    candidates: [list({ id: "a" }), list({ id: "b", customerGroup: "staff", priority: -1, entry: { unitPriceCents: 1, tiers: [] } })],
    want: [1899, "a"],
  },
  { name: "expired list: base price", quantity: 3, group: "members", candidates: [list({ id: "a", endsAt: now })], want: [1999, null] },
  {
    name: "not started yet: base price",
    quantity: 3,
    group: "members",
    candidates: [list({ id: "a", startsAt: new Date(now.getTime() + 1) })],
    want: [1999, null],
  },
  {
    name: "started exactly now, ends later: active",
    quantity: 3,
    group: "members",
    candidates: [list({ id: "a", startsAt: now, endsAt: new Date(now.getTime() + hour) })],
    want: [1799, "a"],
  },
  {
    name: "the better list expired: the next one applies",
    quantity: 1,
    group: "members",
    candidates: [list({ id: "a", priority: 0, endsAt: new Date(now.getTime() - hour) }), list({ id: "b", priority: 3 })],
    want: [1899, "b"],
  },
  {
    name: "a list in another currency never prices the product",
    quantity: 1,
    group: "members",
    candidates: [list({ id: "a", currency: "USD" })],
    want: [1999, null],
  },
];

describe("choosePrice", () => {
  it.each(cases)("$name", ({ quantity, group, candidates, want }) => {
    const chosen = choosePrice({ base, quantity, customerGroup: group, now, candidates });
    expect([chosen.unitPriceCents, chosen.priceListId]).toEqual(want);
    expect(chosen.currency).toBe("EUR");
  });
});

describe("price list entries", () => {
  it("refuses a list in another currency than the product's", () => {
    expect(() => requireSameCurrency("USD", "EUR")).toThrow(ValidationError);
    expect(() => requireSameCurrency("EUR", "EUR")).not.toThrow();
  });

  it.each([
    { name: "minQuantity 1", tiers: [{ minQuantity: 1, unitPriceCents: 100 }] },
    {
      name: "not ascending",
      tiers: [
        { minQuantity: 5, unitPriceCents: 100 },
        { minQuantity: 3, unitPriceCents: 90 },
      ],
    },
    {
      name: "duplicate",
      tiers: [
        { minQuantity: 3, unitPriceCents: 100 },
        { minQuantity: 3, unitPriceCents: 90 },
      ],
    },
    { name: "zero price", tiers: [{ minQuantity: 3, unitPriceCents: 0 }] },
    { name: "above the line maximum", tiers: [{ minQuantity: 1001, unitPriceCents: 100 }] },
    { name: "too many", tiers: Array.from({ length: 21 }, (_, i) => ({ minQuantity: i + 2, unitPriceCents: 100 })) },
  ])("refuses tiers: $name", ({ tiers }) => {
    expect(() => requireTiers(tiers)).toThrow(ValidationError);
  });

  it("accepts ascending tiers", () => {
    const tiers = [
      { minQuantity: 3, unitPriceCents: 1799 },
      { minQuantity: 10, unitPriceCents: 1599 },
    ];
    expect(requireTiers(tiers)).toEqual(tiers);
  });
});
