// Structured logs with pino: JSON lines in production (and tests), readable
// lines in development (pino-pretty as a synchronous stream: no transport
// thread). LOG_LEVEL sets the level; "silent" logs nothing.
import { pino, type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import type { Config } from "../config/config.js";

export type { Logger };

export function createLog(config: Pick<Config, "logLevel" | "env">, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel, base: { service: "stockwire" } };
  if (destination) return pino(options, destination);
  if (config.env === "development") return pino(options, pretty({ sync: true, singleLine: true, ignore: "pid,hostname,service" }));
  return pino(options);
}

/**
 * Yoga's logger interface on pino: Yoga logs errors as Error objects (their
 * cause and stack go to the log, never to the client: see mask-error.ts).
 */
export function yogaLogger(log: Logger) {
  const method =
    (level: "debug" | "info" | "warn" | "error") =>
    (...args: unknown[]) => {
      if (!log.isLevelEnabled(level)) return;
      const [first, ...rest] = args;
      if (first instanceof Error) log[level]({ err: first }, [first.message, ...rest.map(String)].join(" "));
      else log[level](args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    };
  return { debug: method("debug"), info: method("info"), warn: method("warn"), error: method("error") };
}
