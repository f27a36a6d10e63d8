// schema.graphql and docs/events/*.schema.json are committed contracts: each
// must be what the code builds (run `npm run schema:print` after a change).
import { readFileSync } from "node:fs";
import { printSchema } from "graphql";
import { expect, it } from "vitest";
import { schema } from "../../src/schema/index.js";
import { EVENT_SCHEMAS, printEventSchema } from "../../src/events/json-schemas.js";

it("schema.graphql matches the Pothos schema", () => {
  const committed = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
  expect(committed).toBe(printSchema(schema) + "\n");
});

it.each(Object.entries(EVENT_SCHEMAS))("docs/events/%s.schema.json matches the event's zod definition", (name, event) => {
  const committed = readFileSync(new URL(`../../docs/events/${name}.schema.json`, import.meta.url), "utf8");
  expect(committed).toBe(printEventSchema(event));
});
