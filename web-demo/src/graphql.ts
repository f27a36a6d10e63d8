// gql.tada: GraphQL documents typed from ../schema.graphql at compile time
// (through the generated graphql-env.d.ts), no code generation per document.
import { initGraphQLTada } from "gql.tada";
import type { introspection } from "./graphql-env";

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; ID: string };
}>();

export type { ResultOf, VariablesOf, TadaDocumentNode } from "gql.tada";
