// Two malformed requests that reach past Yoga's own checks and would be
// answered 500 with an error-level stack trace in the log: a GET (or form)
// request whose `variables` or `extensions` is not JSON (Yoga JSON.parses
// them with no catch), and a document nested so deeply that graphql-js'
// recursive parser overflows the stack before the token limit stops it.
// Both are the client's fault: HTTP 400, a code, one debug line.
import { createGraphQLError, type Plugin } from "graphql-yoga";

const badParam = (name: string) =>
  createGraphQLError(`The "${name}" parameter is not valid JSON.`, { extensions: { http: { status: 400 }, code: "BAD_REQUEST" } });

const JSON_PARAMS = ["variables", "extensions"] as const;

/** GET and form-encoded requests: `variables` and `extensions` must be JSON (else 400 BAD_REQUEST). */
export function useJsonQueryParams(): Plugin {
  return {
    onRequestParse({ request, url, requestParser, setRequestParser }) {
      if (!requestParser) return;
      const form = request.method === "POST" && /^application\/x-www-form-urlencoded\b/.test(request.headers.get("content-type") ?? "");
      if (request.method !== "GET" && !form) return;
      const parse = requestParser;
      setRequestParser(async (req) => {
        // Checked before Yoga's parser, which throws a bare SyntaxError for either.
        const params = form ? new URLSearchParams(await req.clone().text()) : url.searchParams;
        for (const name of JSON_PARAMS) {
          const value = params.get(name);
          if (!value) continue;
          try {
            JSON.parse(value);
          } catch {
            throw badParam(name);
          }
        }
        return parse(req);
      });
    },
  };
}

/**
 * graphql-js parses recursively: a list literal (or selection set) a few
 * thousand levels deep overflows the stack while the token count is still
 * under the limit. The parser is pure, so the overflow is a parse error like any
 * other. Hand-rolled: graphql-armor's limits run during or after the parse.
 */
export function useParseOverflowGuard(): Plugin {
  return {
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof RangeError) {
          replaceParseResult(
            createGraphQLError("Syntax Error: the document is nested too deeply to parse.", {
              extensions: { http: { status: 400 }, code: "GRAPHQL_PARSE_FAILED" },
            }),
          );
        }
      };
    },
  };
}
