// Refuses a document whose largest operation selects more fields, once its
// fragments are expanded, than the schema's complexity limit allows
// (COMPLEXITY_LIMIT.breadth), before it is validated: graphql-js' validation
// and graphql-jit's compiler both walk the expansion, so a 1 kB document of
// fragments that spread each other twice would hold the event loop for
// minutes. The complexity plugin refuses the same operations, but only once
// execution has started. The refusal is a validation error (HTTP 400), which
// Yoga caches per document like any other.
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { documentSize } from "../schema/document-size.js";

export function useDocumentLimit(maxFields: number): Plugin {
  return {
    onValidate({ params, setResult }) {
      const { fields } = documentSize(params.documentAST);
      if (fields <= maxFields) return;
      const found = fields >= Number.MAX_SAFE_INTEGER ? `over ${Number.MAX_SAFE_INTEGER}` : String(fields);
      setResult([
        new GraphQLError(`Query too broad: breadth ${found} (fields with fragments expanded) exceeds the limit of ${maxFields}`, {
          extensions: { code: "QUERY_TOO_COMPLEX" },
        }),
      ]);
    },
  };
}
