// The published JSON Schemas of the stream's events, derived from the zod
// definitions (docs/events/<name>.schema.json; a test keeps the files in step).
import { z } from "zod";
import { stockChangedEvent } from "./stock-changed.event.js";
import { orderStatusChangedEvent } from "./order-status-changed.event.js";
import { priceChangedEvent } from "./price-changed.event.js";

export const EVENT_SCHEMAS = {
  "stock-changed": stockChangedEvent,
  "order-status-changed": orderStatusChangedEvent,
  "price-changed": priceChangedEvent,
};

export const printEventSchema = (schema: z.ZodType) => JSON.stringify(z.toJSONSchema(schema, { target: "draft-2020-12" }), null, 2) + "\n";
