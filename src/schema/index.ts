// Assembles the schema: importing each domain file registers its types.
import { lexicographicSortSchema } from "graphql";
import { builder } from "./builder.js";
import "./errors.js";
import "./product.js";
import "./customer.js";
import "./order.js";
import "./live.js";
import "./hold.js";
import "./waitlist.js";
import "./location.js";
import "./transfer.js";
import "./pricing.js";
import "./bulk-import.js";
import "./node.js";

export const schema = lexicographicSortSchema(builder.toSchema());
