// Assembles the schema: importing each domain file registers its types.
import { lexicographicSortSchema } from "graphql";
import { builder } from "./builder.js";
import "./product.js";

export const schema = lexicographicSortSchema(builder.toSchema());
