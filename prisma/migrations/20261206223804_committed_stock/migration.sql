-- AlterTable
ALTER TABLE "product" ADD COLUMN     "committed" INTEGER NOT NULL DEFAULT 0;

-- By hand: orders placed before this migration took their units off on hand at once. Those not yet
-- shipped (PENDING, CONFIRMED) are given back to on hand and committed instead, where they were
-- allocated, with a ledger row each, so shipping and cancelling treat every order alike. What is
-- available does not change.
WITH moved AS (
  SELECT a.product_id, a.location_id, sum(a.quantity)::int AS quantity
  FROM order_allocation a JOIN "order" o ON o.id = a.order_id
  WHERE o.status IN ('PENDING', 'CONFIRMED')
  GROUP BY a.product_id, a.location_id
),
levels AS (
  UPDATE stock_level s SET on_hand = s.on_hand + m.quantity, committed = s.committed + m.quantity
  FROM moved m WHERE s.product_id = m.product_id AND s.location_id = m.location_id
  RETURNING s.product_id, s.location_id, s.on_hand, s.committed, s.reserved, s.incoming, m.quantity
)
INSERT INTO stock_movement (product_id, location_id, delta_on_hand, delta_committed, delta_reserved, delta_incoming,
  on_hand_after, committed_after, reserved_after, incoming_after, reason, actor, version_after)
SELECT l.product_id, l.location_id, l.quantity, l.quantity, 0, 0, l.on_hand, l.committed, l.reserved, l.incoming,
  'ORDERS_COMMITTED', 'migration:committed_stock', p.version
FROM levels l JOIN product p ON p.id = l.product_id;

-- The product's totals over active locations that fulfil orders, as every statement keeps them.
UPDATE product p SET stock = t.on_hand, committed = t.committed
FROM (
  SELECT s.product_id, coalesce(sum(s.on_hand) FILTER (WHERE l.active AND l.fulfils_orders), 0)::int AS on_hand,
    coalesce(sum(s.committed) FILTER (WHERE l.active AND l.fulfils_orders), 0)::int AS committed
  FROM stock_level s JOIN location l ON l.id = s.location_id GROUP BY s.product_id
) t
WHERE t.product_id = p.id AND (p.stock, p.committed) IS DISTINCT FROM (t.on_hand, t.committed);

ALTER TABLE "product" ADD CONSTRAINT "product_committed_non_negative" CHECK ("committed" >= 0);
ALTER TABLE "product" ADD CONSTRAINT "product_available_non_negative" CHECK ("stock" - "committed" - "reserved" >= 0);
