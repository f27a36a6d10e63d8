// Queries and mutations run compiled by graphql-jit, each plan compiled once
// per parsed document and operation (Yoga caches parsed documents per query
// text). Everything else runs in graphql-js:
// - subscriptions (the fan-out executes them itself, src/fanout);
// - requests whose variables do not coerce, for graphql-js' exact client errors (HTTP 400);
// - documents whose operations select more than `maxFields` fields with their
//   fragments expanded: the compiler expands every fragment spread, so its time
//   grows with the expansion, while graphql-js' execution merges repeated
//   spreads and costs per request, where the rate limit charges it;
// - documents graphql-jit cannot compile (graphql-js reports why).
//
// In place of @envelop/graphql-jit, whose cache is keyed by document only: a
// document with two operations ran the plan of whichever was asked for first,
// for the other too (charged for one, executing the other).
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import {
  execute as executeInGraphqlJs,
  getOperationAST,
  getVariableValues,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from "graphql";
import { makeExecute, type Plugin } from "graphql-yoga";
import { documentSize } from "./document-size.js";

export function useCompiledExecution(maxFields: number): Plugin {
  // Parsed document -> operation name ("" for the only one) -> its plan, or null where graphql-js runs it.
  const plans = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();

  function planFor(args: ExecutionArgs): CompiledQuery | null {
    let byOperation = plans.get(args.document);
    if (!byOperation) plans.set(args.document, (byOperation = new Map()));
    const name = args.operationName ?? "";
    let plan = byOperation.get(name);
    if (plan === undefined) {
      const operation = getOperationAST(args.document, args.operationName);
      const compilable = operation && operation.operation !== "subscription" && documentSize(args.document).fields <= maxFields;
      const compiled = compilable ? compileQuery(args.schema, args.document, args.operationName ?? undefined) : null;
      plan = compiled && isCompiledQuery(compiled) ? compiled : null;
      byOperation.set(name, plan);
    }
    return plan;
  }

  // Plugins after this one may execute another document than the one judged in onExecute (the
  // response cache adds __typename and id to every selection set): judged again here, and run in
  // graphql-js when that one is not to be compiled.
  const execute = makeExecute((args) => {
    const plan = planFor(args);
    return plan
      ? (plan.query(args.rootValue, args.contextValue, args.variableValues) as ExecutionResult | Promise<ExecutionResult>)
      : executeInGraphqlJs(args);
  });

  return {
    onExecute({ args, setExecuteFn }) {
      if (!planFor(args)) return;
      const operation = getOperationAST(args.document, args.operationName)!;
      const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
      if (!variables.errors) setExecuteFn(execute);
    },
  };
}
