// REQUEST_DEADLINE_MS: no query or mutation waits longer than this from its
// arrival, whatever it waits on (a pool acquire, a statement, the order
// batcher's queue). Past it the request is answered at once with
// SERVICE_UNAVAILABLE (503, Retry-After) naming the database, the only
// backend a query or mutation waits on (the cost buckets give Redis 250 ms
// and then count in process). One timer per request; the work it abandons
// runs on, and its result is dropped.
//
// A mutation's error says what became of its writes (extensions.outcome):
// NOT_APPLIED when every one of them is tracked (placeOrder: the batcher drops
// an order whose request expired before its batch went out, so none is sent
// late) and none was sent; else UNKNOWN (sent, no answer: it may commit).
// The abandoned wait counts as a failure for the PostgreSQL breaker.
//
// startBulkImport is exempt: it parses and stages a file of up to
// BULK_IMPORT_MAX_BYTES before it answers (seconds for the largest), bounded
// by its staging transaction's timeout and each statement's statement_timeout.
import { getOperationAST, Kind, type ExecutionResult, type OperationDefinitionNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import { requestDeadline, type RequestDeadline } from "../errors/service-unavailable.js";
import type { Breaker } from "../observability/breakers.js";
import type { GraphQLContext } from "./context.js";
import { serviceUnavailable } from "./mask-error.js";

export function useRequestDeadline(deadlineMs: number, breaker?: Breaker): Plugin<GraphQLContext> {
  // From the request's arrival: parsing, validation and the context (token check) count as well.
  const arrived = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      arrived.set(request, performance.now());
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const op = getOperationAST(args.document, args.operationName);
      if (!op || op.operation === "subscription" || onlyUploads(op)) return;
      const ctx = args.contextValue as GraphQLContext & { request?: Request };
      const deadline = requestDeadline(deadlineMs, (ctx.request && arrived.get(ctx.request)) ?? performance.now());
      ctx.deadline = deadline;
      setExecuteFn((a) => {
        const result = executeFn(a) as ExecutionResult | Promise<ExecutionResult>;
        if (!isPromiseLike(result)) return result;
        return new Promise<ExecutionResult>((resolve, reject) => {
          const timer = setTimeout(
            () => {
              // First, in this same turn: a batch gathered from now on leaves this request's order out.
              deadline.expired = true;
              breaker?.timedOut();
              resolve({
                errors: [serviceUnavailable({ service: "database", reason: "DEADLINE_EXCEEDED", outcome: outcomeOf(op, deadline) })],
              });
            },
            Math.max(0, deadline.at - performance.now()),
          );
          result.then(
            (r) => (clearTimeout(timer), resolve(r)),
            (err: unknown) => (clearTimeout(timer), reject(err)),
          );
        });
      });
    },
  };
}

const isPromiseLike = <T>(v: T | PromiseLike<T>): v is PromiseLike<T> => typeof (v as PromiseLike<T> | null)?.then === "function";

function outcomeOf(op: OperationDefinitionNode, deadline: RequestDeadline) {
  if (op.operation !== "mutation") return undefined;
  const fields = op.selectionSet.selections.filter((s) => s.kind === Kind.FIELD && s.name.value !== "__typename").length;
  return !deadline.sent && deadline.trackedWrites >= fields && fields > 0 ? "NOT_APPLIED" : "UNKNOWN";
}

/** Root fields that take a whole file in the request (multipart): the deadline is theirs to bound. */
const UPLOADS = new Set(["startBulkImport"]);
const onlyUploads = (op: OperationDefinitionNode) =>
  op.operation === "mutation" && op.selectionSet.selections.every((s) => s.kind === Kind.FIELD && UPLOADS.has(s.name.value));
