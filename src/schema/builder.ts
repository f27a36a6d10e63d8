// The one Pothos builder: owns the plugins, the context type and the scalars.
import SchemaBuilder from "@pothos/core";
import { GraphQLError } from "graphql";
import ComplexityPlugin from "@pothos/plugin-complexity";
import ErrorsPlugin from "@pothos/plugin-errors";
import RelayPlugin from "@pothos/plugin-relay";
import "./text-input.plugin.js";
import type { GraphQLContext } from "./context.js";
import { encodeGlobalId } from "../ids/index.js";
import { decodeGlobalIdOrThrow } from "./ids.js";
import { PAGE_SIZE_ARGS } from "./pagination.js";
import { COMPLEXITY_LIMIT, complexityError, fieldComplexity } from "./complexity.js";

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    /** Yoga's: a part of a multipart request (the GraphQL multipart request spec). */
    File: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
}>({
  // textInput after errors: a refused string in a mutation is that mutation's typed ValidationError.
  plugins: [ComplexityPlugin, ErrorsPlugin, RelayPlugin, "textInput"],
  complexity: { limit: COMPLEXITY_LIMIT, fieldComplexity, complexityError },
  defaultFieldNullability: false,
  relay: {
    clientMutationId: "omit",
    // schema/node.ts defines node and nodes: each ID answered on its own.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    cursorType: "String",
    ...PAGE_SIZE_ARGS,
    // One codec for every global ID (ids/global-id.ts), here as everywhere.
    encodeGlobalID: (typename, id) => encodeGlobalId(typename, String(id)),
    decodeGlobalID: (id) => decodeGlobalIdOrThrow(id),
  },
  errors: { defaultTypes: [] },
});

builder.scalarType("DateTime", {
  description: "An ISO-8601 timestamp in UTC",
  serialize: (d) => d.toISOString(),
  // A client's mistake, coded as one (a TypeError here would be masked as a server error).
  parseValue: (v) => {
    const d = typeof v === "string" ? new Date(v) : new Date(NaN);
    if (Number.isNaN(d.getTime())) {
      throw new GraphQLError("DateTime must be an ISO-8601 string", { extensions: { code: "BAD_USER_INPUT" } });
    }
    return d;
  },
});

const notAFile = () =>
  new GraphQLError("File must be a file part of a multipart request (the GraphQL multipart request spec)", {
    extensions: { code: "BAD_USER_INPUT" },
  });

builder.scalarType("File", {
  description: "A file uploaded in a multipart request (the GraphQL multipart request spec)",
  serialize: () => {
    throw new TypeError("File is an input type only");
  },
  // Yoga puts the uploaded part here (its fetch implementation's File, not always the global class).
  parseValue: (v) => {
    const f = v as Partial<File> | null;
    if (
      typeof f !== "object" ||
      f === null ||
      typeof f.arrayBuffer !== "function" ||
      typeof f.size !== "number" ||
      typeof f.name !== "string"
    ) {
      throw notAFile();
    }
    return f as File;
  },
  parseLiteral: () => {
    throw notAFile();
  },
});

builder.queryType({});
builder.mutationType({});
