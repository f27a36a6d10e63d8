// gql.tada for the tests: documents typed from schema.graphql at compile time
// through the generated graphql-env.d.ts (`npm run test:types`), as in web-demo.
import { initGraphQLTada } from "gql.tada";
import type { introspection } from "./graphql-env.js";

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; ID: string };
}>();

export type { ResultOf, VariablesOf, TadaDocumentNode } from "gql.tada";
