// The shape limits every document meets before it executes: size in fields
// with fragments expanded (before validation walks it), then graphql-armor's
// depth, tokens, aliases and directives while validating. Cost is the
// schema's own complexity limit (schema/complexity.ts), which sees variables.
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { COMPLEXITY_LIMIT } from "../schema/complexity.js";
import { useDocumentLimit } from "./use-document-limit.js";

/** Request limits: generous for storefronts, fatal for abuse. */
export const REQUEST_LIMITS = {
  maxBodyBytes: 100_000,
  maxDepth: 12,
  maxTokens: 2_000,
  maxAliases: 20,
  maxDirectives: 50,
  /** Fields an operation selects with its fragments expanded: the complexity plugin's breadth limit, checked before validation. */
  maxFields: COMPLEXITY_LIMIT.breadth,
};

/** The limits as plugins, in order; `introspection` off also refuses __schema and __type and hides field suggestions. */
export function useShapeLimits({ introspection }: { introspection: boolean }): Plugin[] {
  return [
    // The expanded selection, measured and refused before validation walks it.
    useDocumentLimit(REQUEST_LIMITS.maxFields),
    EnvelopArmorPlugin({
      // Reported as validation errors with a code (armor's default throws
      // from inside validate(), which has no code and breaks graphql-ws).
      maxDepth: { n: REQUEST_LIMITS.maxDepth, flattenFragments: true, ...reportAs("QUERY_TOO_DEEP") },
      maxTokens: { n: REQUEST_LIMITS.maxTokens },
      // Every alias counts, __typename ones too (armor allows those by default).
      maxAliases: { n: REQUEST_LIMITS.maxAliases, allowList: [], ...reportAs("TOO_MANY_ALIASES") },
      maxDirectives: { n: REQUEST_LIMITS.maxDirectives, ...reportAs("TOO_MANY_DIRECTIVES") },
      costLimit: { enabled: false },
      // Suggestions name fields the client did not ask about: only where introspection is on too.
      blockFieldSuggestion: { enabled: !introspection },
    }),
    ...(introspection ? [] : [noIntrospection()]),
  ];
}

/** A graphql-armor rule's rejection as a validation error with `code`, instead of an exception thrown out of validate(). */
function reportAs(code: string) {
  const reported = new WeakSet<ValidationContext>(); // once per validation (the depth rule rejects once per operation and fragment)
  return {
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, err: GraphQLError) => {
        if (!ctx || reported.has(ctx)) return;
        reported.add(ctx);
        // Armor words every rejection as a "Syntax Error: ..."; a valid query over a limit is not one.
        ctx.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, ""), { nodes: err.nodes, extensions: { code } }));
      },
    ],
  };
}

/** STOCKWIRE_INTROSPECTION=off: graphql-js' own rule refuses __schema and __type (a validation error). */
function noIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
