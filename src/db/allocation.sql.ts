// Allocation: which locations an order's or a hold's line takes its units
// from. A whole line from one location when any can fill it (the lowest
// priority number first, then the location id, so the choice is the same
// everywhere), otherwise split over the locations in that order, each giving
// what it has until the line is filled. Only active locations that fulfil
// orders take part (LOCKED_LEVELS' `fulfils`). Pure SQL over candidate rows so
// the group-commit walk (order.sql.ts) and the hold statement (hold.sql.ts)
// allocate by one rule, under the statement's locks.
import { Prisma } from "../generated/prisma/client.js";

/**
 * Rows (product_id, quantity, location_id, available, take, line_ok) from
 * `candidates`, a select of (product_id, quantity, location_id, priority,
 * available): one row per line and candidate location (location_id NULL and
 * available 0 for a line with none). `take` is what the line takes from that
 * location (0: nothing); line_ok says whether the line can be filled at all.
 */
export const allocationSql = (candidates: Prisma.Sql): Prisma.Sql => Prisma.sql`
  SELECT a.product_id, a.quantity, a.location_id, a.available,
    (CASE WHEN a.whole IS NOT NULL THEN CASE WHEN a.location_id = a.whole THEN a.quantity ELSE 0 END
      ELSE greatest(0, least(a.available, a.quantity - (a.cum - a.available))) END)::int AS take,
    a.total >= a.quantity AS line_ok
  FROM (
    SELECT c.product_id, c.quantity, c.location_id, c.available,
      sum(c.available) OVER (PARTITION BY c.product_id ORDER BY c.priority, c.location_id) AS cum,
      sum(c.available) OVER (PARTITION BY c.product_id) AS total,
      first_value(CASE WHEN c.available >= c.quantity THEN c.location_id END)
        OVER (PARTITION BY c.product_id ORDER BY c.available >= c.quantity DESC, c.priority, c.location_id) AS whole
    FROM (${candidates}) c
  ) a`;
