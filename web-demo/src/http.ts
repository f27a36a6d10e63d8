// Queries and mutations over HTTP: POST /graphql (same origin; in `npm run dev`
// Vite proxies it to the API).
import { print } from "@0no-co/graphql.web";
import type { TadaDocumentNode } from "./graphql";

const printed = new WeakMap<object, string>();
/** The query text of a document (printed once). */
export function source(doc: TadaDocumentNode<any, any>): string {
  let text = printed.get(doc);
  if (text === undefined) printed.set(doc, (text = print(doc)));
  return text;
}

export class RequestError extends Error {
  override name = "RequestError";
}

export async function request<R, V>(doc: TadaDocumentNode<R, V>, variables: V, token?: string): Promise<R> {
  let res: Response;
  try {
    res = await fetch("/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        ...(token && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ query: source(doc), variables }),
    });
  } catch {
    throw new RequestError("The server cannot be reached.");
  }
  const body = (await res.json().catch(() => null)) as { data?: R | null; errors?: { message: string }[] } | null;
  if (body?.errors?.length) throw new RequestError(body.errors.map((e) => e.message).join("; "));
  if (!body?.data) throw new RequestError(`The server answered HTTP ${res.status}.`);
  return body.data;
}
