// schema.graphql is the committed contract: it must be what the code builds.
import { readFileSync } from "node:fs";
import { printSchema } from "graphql";
import { expect, it } from "vitest";
import { schema } from "../../src/schema/index.js";

it("schema.graphql matches the Pothos schema (run `npm run schema:print`)", () => {
  const committed = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
  expect(committed).toBe(printSchema(schema) + "\n");
});
