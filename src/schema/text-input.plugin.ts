// Pothos plugin: every String and ID a client sends, in any argument or input
// object of any field, is checked before the field runs. A NUL byte (which
// PostgreSQL refuses in text: error 22021) or an unpaired UTF-16 surrogate
// (not encodable as UTF-8) is a ValidationError naming the input path as the
// services name fields (`sku`, `items[0].productId`: a mutation's `input` is
// implied): BAD_USER_INPUT for queries and subscriptions, the typed
// ValidationError for mutations that declare it. One rule at the schema
// boundary, so no field can forget it.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";
import {
  getNullableType,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLString,
  type GraphQLArgument,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLResolveInfo,
} from "graphql";
import { ValidationError } from "../errors/domain-errors.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- how Pothos plugins declare themselves
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      textInput: TextInputPlugin<Types>;
    }
  }
}

// eslint-disable-next-line no-control-regex -- the NUL byte is what we look for
const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first bad string in `value` (of GraphQL input type `type`), or undefined. */
function badTextAt(type: GraphQLInputType, value: unknown, path: string): string | undefined {
  if (value == null) return undefined;
  const t = getNullableType(type);
  if (t === GraphQLString || t === GraphQLID) return typeof value === "string" && BAD_TEXT.test(value) ? path : undefined;
  if (t instanceof GraphQLList) {
    if (!Array.isArray(value)) return badTextAt(t.ofType, value, path); // a single value coerced to a list
    for (let i = 0; i < value.length; i++) {
      const bad = badTextAt(t.ofType, value[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (t instanceof GraphQLInputObjectType) {
    const fields = t.getFields();
    for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
      const bad = fields[name] && badTextAt(fields[name].type, field, `${path}.${name}`);
      if (bad) return bad;
    }
  }
  return undefined;
}

/** Which arguments of a field can hold text at all (computed once per field). */
const textArgs = new WeakMap<object, readonly GraphQLArgument[]>();
function argsWithText(info: GraphQLResolveInfo): readonly GraphQLArgument[] {
  const field = info.parentType.getFields()[info.fieldName]!;
  let args = textArgs.get(field);
  if (!args) textArgs.set(field, (args = field.args.filter((a) => mayHoldText(a.type, new Set()))));
  return args;
}

function mayHoldText(type: GraphQLInputType, seen: Set<GraphQLInputObjectType>): boolean {
  const t = getNullableType(type);
  if (t === GraphQLString || t === GraphQLID) return true;
  if (t instanceof GraphQLList) return mayHoldText(t.ofType, seen);
  if (t instanceof GraphQLInputObjectType && !seen.has(t)) {
    seen.add(t);
    return Object.values(t.getFields()).some((f) => mayHoldText(f.type, seen));
  }
  return false;
}

function checkArgs(args: Record<string, unknown>, info: GraphQLResolveInfo): void {
  for (const arg of argsWithText(info)) {
    // Named as the services name fields: a mutation's `input` object is implied (`items[0].productId`).
    const bad = badTextAt(arg.type, args[arg.name], arg.name === "input" ? "" : arg.name)?.replace(/^\./, "");
    if (bad) throw new ValidationError(bad, `${bad}: text must not contain NUL bytes or unpaired UTF-16 surrogates`);
  }
}

type Resolver = GraphQLFieldResolver<unknown, object, object>;

const guard =
  (next: Resolver): Resolver =>
  (parent, args, ctx, info) => {
    checkArgs(args as Record<string, unknown>, info);
    return next(parent, args, ctx, info);
  };

export class TextInputPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  // Fields without arguments are left alone; a subscription's arguments are checked once, when it subscribes.
  override wrapResolve(resolver: Resolver, field: PothosOutputFieldConfig<Types>): Resolver {
    return Object.keys(field.args).length && field.kind !== "Subscription" ? guard(resolver) : resolver;
  }

  override wrapSubscribe(subscribe: Resolver | undefined, field: PothosOutputFieldConfig<Types>): Resolver | undefined {
    return subscribe && Object.keys(field.args).length ? guard(subscribe) : subscribe;
  }
}

SchemaBuilder.registerPlugin("textInput", TextInputPlugin);
