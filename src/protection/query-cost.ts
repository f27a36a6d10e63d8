// What an operation costs, in the schema's own complexity points
// (schema/complexity.ts): requested = what it may return, computed by
// @pothos/plugin-complexity from the document and variables before anything
// runs; actual = what it did return, counted on the result. And what a
// document new to this server costs to parse and validate.
import { Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from "graphql";
import { complexityFromQuery } from "@pothos/plugin-complexity";
import type { DocumentSize } from "../schema/document-size.js";
import { COMPLEXITY_LIMIT } from "../schema/complexity.js";

/** The requested cost of the operation that runs (the plugin itself reads only a document's first one); at least 1. */
export function requestedCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: unknown,
): number {
  const selected = operationName
    ? {
        ...document,
        definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d.name?.value === operationName),
      }
    : document;
  const { complexity } = complexityFromQuery(selected, { schema, variables: (variables ?? {}) as Record<string, unknown> });
  return Math.max(1, Math.ceil(complexity));
}

/**
 * The actual cost: each field present in the result costs 1, and a list costs
 * what its items cost, so a connection asked for 100 that returned 3 costs
 * for 3. Counted the way requestedCost counts, so it is at most that for
 * connections; plain lists (estimated at 10 items) may come out above it.
 * Fields are matched by response key; fragments' type conditions need no
 * checking, as the result only holds the fields that applied. At least 1.
 */
export function actualCost(document: DocumentNode, operationName: string | null | undefined, data: unknown): number {
  const operation = document.definitions.find(
    (d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION || !isObject(data)) return 1;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

  /** Response key -> the selection sets selected under it (several when fragments select it again). */
  const collect = (sets: SelectionSetNode[], into = new Map<string, SelectionSetNode[]>(), seen = new Set<string>()) => {
    for (const set of sets)
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          const key = s.alias?.value ?? s.name.value;
          const subs = into.get(key) ?? into.set(key, []).get(key)!;
          if (s.selectionSet) subs.push(s.selectionSet);
        } else if (s.kind === Kind.INLINE_FRAGMENT) collect([s.selectionSet], into, seen);
        else if (!seen.has(s.name.value)) {
          seen.add(s.name.value);
          const f = fragments.get(s.name.value);
          if (f) collect([f.selectionSet], into, seen);
        }
      }
    return into;
  };
  const cost = (value: unknown, sets: SelectionSetNode[]): number => {
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + cost(item, sets), 0);
    if (!isObject(value) || !sets.length) return 0;
    let sum = 0;
    for (const [key, subs] of collect(sets)) if (key in value) sum += 1 + cost(value[key], subs);
    return sum;
  };
  return Math.max(1, cost(data, [operation.selectionSet]));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/**
 * What parsing and validating a document costs the first time this server sees
 * it (after that Yoga has both cached): a base for the fixed work of validating
 * any document, plus its tokens and its fields with fragments expanded (as far
 * as they are walked: a document above the breadth limit is refused at it).
 */
export const DOCUMENT_COST = { base: 20, tokensPerPoint: 10, fieldsPerPoint: 10 };

export function documentCost(size: DocumentSize): number {
  const fields = Math.min(size.fields, COMPLEXITY_LIMIT.breadth);
  return DOCUMENT_COST.base + Math.ceil(size.tokens / DOCUMENT_COST.tokensPerPoint) + Math.ceil(fields / DOCUMENT_COST.fieldsPerPoint);
}

/** A document that failed to parse (its tokens unknown): the base and a point per 50 characters read. */
export function unparsableDocumentCost(source: string): number {
  return DOCUMENT_COST.base + Math.ceil(source.length / 50);
}
