// Writes the committed contracts from the code (tests check they are up to
// date): schema.graphql from the Pothos schema, docs/events/*.schema.json
// from the events' zod definitions.
import { writeFileSync } from "node:fs";
import { printSchema } from "graphql";
import { schema } from "../src/schema/index.js";
import { EVENT_SCHEMAS, printEventSchema } from "../src/events/json-schemas.js";

writeFileSync(new URL("../schema.graphql", import.meta.url), printSchema(schema) + "\n");
console.log("wrote schema.graphql");
for (const [name, event] of Object.entries(EVENT_SCHEMAS)) {
  writeFileSync(new URL(`../docs/events/${name}.schema.json`, import.meta.url), printEventSchema(event));
  console.log(`wrote docs/events/${name}.schema.json`);
}
