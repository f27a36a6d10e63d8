// Why an admin changed a level's on hand (adjustStock, setOnHand): recorded on
// the ledger row (stock_movement.adjustment_reason). The schema describes each.
import { ValidationError } from "../errors/domain-errors.js";

export const ADJUSTMENT_REASONS = ["RECEIVED", "CORRECTION", "DAMAGED", "SHRINKAGE", "RETURNED", "CYCLE_COUNT", "OTHER"] as const;
export type AdjustmentReason = (typeof ADJUSTMENT_REASONS)[number];

export function requireAdjustmentReason(value: string): AdjustmentReason {
  if (!(ADJUSTMENT_REASONS as readonly string[]).includes(value)) {
    throw new ValidationError("reason", `reason must be one of ${ADJUSTMENT_REASONS.join(", ")}`);
  }
  return value as AdjustmentReason;
}
