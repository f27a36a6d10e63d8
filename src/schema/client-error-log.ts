// Yoga logs every error it masks at error level with its stack, client errors
// included (~1.2 kB per anonymous `{ me { id } }`): anyone could flood the log.
// Errors the client caused are one debug line; server failures stay as they were.
import type { GraphQLError } from "graphql";
import type { YogaLogger } from "graphql-yoga";
import { clientErrorCode } from "./mask-error.js";

export function quietAboutClientErrors(logger: YogaLogger): YogaLogger {
  return {
    ...logger,
    error: (...args: unknown[]) => {
      const code = args.length === 1 ? clientErrorCode(args[0]) : undefined;
      if (!code) return logger.error(...args);
      const { message, path } = args[0] as GraphQLError;
      logger.debug(`client error ${code}: ${message.replace(/\s+/g, " ").slice(0, 200)}${path ? ` (at ${path.join(".")})` : ""}`);
    },
  };
}
