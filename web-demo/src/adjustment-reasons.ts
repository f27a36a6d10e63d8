// The AdjustmentReason enum as the admin picks it: a label and a short hint
// each (the schema's descriptions, shortened). A Record over the enum's type,
// so a reason added to the schema fails the demo's type-check until it is here.
import type { VariablesOf } from "./graphql";
import type { AdjustStockMutation } from "./operations";

export type AdjustmentReason = VariablesOf<typeof AdjustStockMutation>["input"]["reason"];

export const ADJUSTMENT_REASONS: Record<AdjustmentReason, { label: string; hint: string }> = {
  RECEIVED: { label: "Received", hint: "A delivery from a supplier arrived." },
  RETURNED: { label: "Returned", hint: "A customer sent units back; they can be sold again." },
  CORRECTION: { label: "Correction", hint: "Puts right a mistake in an earlier count or booking." },
  DAMAGED: { label: "Damaged", hint: "Units broken or spoiled: no longer sellable." },
  SHRINKAGE: { label: "Shrinkage", hint: "Units gone without a record: theft, loss." },
  CYCLE_COUNT: { label: "Cycle count", hint: "A physical count found a different number." },
  OTHER: { label: "Other", hint: "Anything else: say what in the note." },
};
