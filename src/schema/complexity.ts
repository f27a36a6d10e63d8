// Query cost, computed by @pothos/plugin-complexity from the request's real
// argument values (variables included) before anything resolves. A
// connection costs its page size times its selection; its `edges` list is
// that same page, so it is not multiplied again; other lists count as 10.
import { GraphQLError, getNullableType, isListType, type GraphQLField } from "graphql";
import type { ComplexityErrorFn, FieldComplexityValue } from "@pothos/plugin-complexity";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./pagination.js";

export const COMPLEXITY_LIMIT = { complexity: 10_000, depth: 12, breadth: 300 };

export function fieldComplexity<C>(args: Record<string, unknown>, _ctx: C, field: GraphQLField<unknown, C>): FieldComplexityValue {
  const has = (name: string) => field.args.some((a) => a.name === name);
  if (has("first") || has("last")) {
    const size = Number(args.first ?? args.last ?? DEFAULT_PAGE_SIZE);
    return { field: 1, multiplier: Math.min(Math.max(Number.isFinite(size) ? size : MAX_PAGE_SIZE, 1), MAX_PAGE_SIZE) };
  }
  if (field.name === "edges") return { field: 1, multiplier: 1 };
  if (Array.isArray(args.ids)) return { field: 1, multiplier: Math.max(args.ids.length, 1) };
  return isListType(getNullableType(field.type)) ? { field: 1, multiplier: 10 } : 1;
}

export const complexityError: ComplexityErrorFn = (kind, result) => {
  const key = kind.toLowerCase() as "complexity" | "depth" | "breadth";
  const max = result[`max${kind}` as "maxComplexity" | "maxDepth" | "maxBreadth"];
  return new GraphQLError(
    `Query too ${key === "complexity" ? "complex" : key === "depth" ? "deep" : "broad"}: ${key} ${result[key]} exceeds the limit of ${max}`,
    {
      extensions: { code: "QUERY_TOO_COMPLEX" },
    },
  );
};
