// One GraphQL client for every test: POST /graphql over a fetch function,
// either the app's yoga.fetch (in process, no socket) or the global fetch
// against a running server's URL. Typed documents give typed results; a plain
// string is sent as is and typed `any`, for ad-hoc and deliberately invalid
// operations.
import { print } from "graphql";
import type { ResultOf, TadaDocumentNode, VariablesOf } from "./graphql.js";

export interface GraphQLErrorJson {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface GqlResult<T> {
  data?: T | null;
  errors?: GraphQLErrorJson[];
  /** e.g. `cost` (src/protection): requested and actual cost, and the client's bucket. */
  extensions?: Record<string, any>;
}

export type HttpHeaders = Record<string, string>;

export interface GraphQLClient {
  <D extends TadaDocumentNode<any, any>>(document: D, variables: VariablesOf<D>, headers?: HttpHeaders): Promise<GqlResult<ResultOf<D>>>;
  <T = any>(query: string, variables?: Record<string, unknown>, headers?: HttpHeaders): Promise<GqlResult<T>>;
}

/** fetch(path, init) against one server: yoga.fetch or a base URL. */
export type Transport = (path: string, init: RequestInit) => Promise<Response>;

export const bearer = (token: string): HttpHeaders => ({ authorization: `Bearer ${token}` });

const printed = new WeakMap<object, string>();
/** The query text of a document (printed once). */
export function source(document: TadaDocumentNode<any, any>): string {
  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = print(document)));
  return text;
}

export function graphqlClient(transport: Transport): GraphQLClient {
  return (async (query: string | TadaDocumentNode<any, any>, variables?: Record<string, unknown>, headers: HttpHeaders = {}) => {
    const res = await transport("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
      body: JSON.stringify({ query: typeof query === "string" ? query : source(query), variables }),
    });
    return res.json();
  }) as GraphQLClient;
}

/** A client for a server listening at `url` (e.g. http://127.0.0.1:4000). */
export const httpClient = (url: string): GraphQLClient => graphqlClient((path, init) => fetch(`${url}${path}`, init));
