// The demo catalogue the embedded default starts with: a few hundred products
// across departments, some customers, and a second location (a city store that
// holds a quarter of every well-stocked product) beside the migration's
// `default`. Deterministic, so every newcomer sees the same shop and tests can
// rely on it.
import type { DbClient } from "./database.js";
import { openingMovements } from "./ledger.sql.js";

const departments = [
  { code: "APP", nouns: ["T-Shirt", "Hoodie", "Rain Jacket", "Chinos", "Wool Socks", "Beanie", "Denim Jacket", "Polo"] },
  { code: "HOM", nouns: ["Mug", "Throw Blanket", "Desk Lamp", "Planter", "Cutting Board", "Candle", "Tea Towel", "Vase"] },
  { code: "OUT", nouns: ["Water Bottle", "Daypack", "Headlamp", "Camp Chair", "Trekking Poles", "Dry Bag", "Hammock", "Stove"] },
  { code: "TEC", nouns: ["USB-C Cable", "Power Bank", "Earbuds", "Phone Stand", "Keyboard", "Mouse Pad", "Webcam", "Charger"] },
];
const adjectives = ["Classic", "Everyday", "Organic", "Recycled", "Heritage", "Ultralight", "Compact", "Premium", "Studio", "Trail"];

/** Tiny deterministic PRNG (mulberry32) so the catalogue is the same on every machine. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function demoProducts() {
  const rand = prng(42);
  const products = [];
  for (const dept of departments) {
    let n = 0;
    for (const noun of dept.nouns) {
      for (const adjective of adjectives) {
        n += 1;
        const priceCents = Math.round((5 + rand() * 120) * 100) - 1; // x.99-ish prices
        // Mostly healthy stock, some nearly gone, a few sold out: the demo needs all three.
        const roll = rand();
        const stock = roll < 0.05 ? 0 : roll < 0.2 ? 1 + Math.floor(rand() * 5) : 20 + Math.floor(rand() * 200);
        products.push({
          sku: `SW-${dept.code}-${String(n).padStart(4, "0")}`,
          name: `${adjective} ${noun}`,
          description: `The ${adjective.toLowerCase()} ${noun.toLowerCase()} our customers keep coming back for.`,
          priceCents,
          currency: "EUR",
          stock,
        });
      }
    }
  }
  return products;
}

export function demoCustomers() {
  const names = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Linus Torvalds",
    "Margaret Hamilton",
    "Dennis Ritchie",
    "Barbara Liskov",
    "Ken Thompson",
    "Frances Allen",
    "Edsger Dijkstra",
    "Radia Perlman",
  ];
  return names.map((name) => ({ name, email: `${name.toLowerCase().replace(/\s+/g, ".")}@example.com` }));
}

/** The seed's second location: it fulfils orders after `default` (priority 0). */
export const DEMO_STORE = { code: "store-1", name: "City store", fulfilsOrders: true, priority: 2 };

/**
 * Moves a quarter of each product's units (those with at least 20) from the
 * level the product_default_level trigger made to the city store. The
 * products' totals do not change: both locations fulfil orders.
 */
const stockTheStore = (db: DbClient) => db.$executeRaw`
  WITH store AS (SELECT id FROM location WHERE code = ${DEMO_STORE.code}),
  share AS (
    SELECT s.product_id, s.location_id, s.on_hand / 4 AS units FROM stock_level s, store
    WHERE s.location_id <> store.id AND s.on_hand >= 20
  ),
  moved AS (
    UPDATE stock_level s SET on_hand = s.on_hand - share.units FROM share
    WHERE s.product_id = share.product_id AND s.location_id = share.location_id
    RETURNING s.product_id, share.units
  )
  INSERT INTO stock_level (product_id, location_id, on_hand) SELECT moved.product_id, store.id, moved.units FROM moved, store`;

/** The seed's price list: members (the demo customer) pay less for every fourth product, and less again from 3 units. */
export const DEMO_PRICE_LIST = { code: "MEMBERS", name: "Members", currency: "EUR", customerGroup: "members" };

/**
 * Every fourth product (in SKU order) gets a member price a euro or a tenth
 * below its own and a tier from 3 units a euro below that; the
 * price ledger opens with each entry; the demo customer (the seed's first)
 * becomes a member.
 */
const memberPrices = (db: DbClient) => db.$executeRaw`
  WITH list AS (
    INSERT INTO price_list (code, name, currency, customer_group)
    VALUES (${DEMO_PRICE_LIST.code}, ${DEMO_PRICE_LIST.name}, ${DEMO_PRICE_LIST.currency}, ${DEMO_PRICE_LIST.customerGroup})
    RETURNING id
  ),
  priced AS (
    SELECT p.id, p.price_cents - greatest(100, round(p.price_cents * 0.001)::int * 100) AS member
    FROM (SELECT id, price_cents, row_number() OVER (ORDER BY sku) AS n FROM product) p
    WHERE p.n % 4 = 1 AND p.price_cents >= 399
  ),
  entries AS (
    INSERT INTO price_list_entry (price_list_id, product_id, unit_price_cents, tiers)
    SELECT list.id, priced.id, priced.member, jsonb_build_array(jsonb_build_object('minQuantity', 3, 'unitPriceCents', priced.member - 100))
    FROM list, priced
    RETURNING price_list_id, product_id, unit_price_cents, tiers
  ),
  ledger AS (
    INSERT INTO price_change (price_list_id, product_id, to_unit_price_cents, to_tiers, actor)
    SELECT price_list_id, product_id, unit_price_cents, tiers, 'system' FROM entries
  )
  UPDATE customer SET customer_group = ${DEMO_PRICE_LIST.customerGroup} WHERE email = ${demoCustomers()[0]!.email}`;

/** Seeds only an empty catalogue; returns how many products it wrote. */
export async function seedDemoData(prisma: DbClient): Promise<number> {
  if ((await prisma.product.count()) > 0) return 0;
  // Distinct creation times keep the catalogue's "oldest first" order the SKU order.
  const start = Date.now() - 86_400_000;
  const products = demoProducts().map((p, i) => ({ ...p, createdAt: new Date(start + i * 1000), updatedAt: new Date(start + i * 1000) }));
  await prisma.$transaction([
    prisma.location.upsert({ where: { code: DEMO_STORE.code }, create: DEMO_STORE, update: {} }),
    prisma.product.createMany({ data: products }),
    prisma.customer.createMany({
      data: demoCustomers().map((c, i) => ({ ...c, createdAt: new Date(start + i * 1000) })),
      skipDuplicates: true,
    }),
    stockTheStore(prisma),
    // The stock ledger opens with each level's on hand (per product: sum of on-hand deltas = stock).
    openingMovements(prisma, null, "system"),
    memberPrices(prisma),
  ]);
  return products.length;
}
