// Recognises PostgreSQL error classes through Prisma and its driver adapters,
// which wrap them differently for model queries and raw queries.

const codes: Record<string, string> = {
  UniqueConstraintViolation: "23505",
  ForeignKeyConstraintViolation: "23503",
  NullConstraintViolation: "23502",
  ValueOutOfRange: "22003",
};

/** What a driver adapter attaches (`meta.driverAdapterError`), possibly with the driver's own error as its cause. */
interface AdapterError {
  kind?: string;
  code?: string;
  originalCode?: string;
  cause?: AdapterError;
}

/** The SQLSTATE behind an error, when there is one. */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: string; meta?: { code?: unknown; driverAdapterError?: AdapterError }; cause?: unknown } | null;
  if (!e || typeof e !== "object") return undefined;
  if (e.code === "P2002") return "23505";
  if (e.code === "P2003") return "23503";
  const adapter = e.meta?.driverAdapterError?.cause ?? e.meta?.driverAdapterError;
  if (adapter) return adapter.originalCode ?? adapter.code ?? (adapter.kind === undefined ? undefined : codes[adapter.kind]);
  if (typeof e.meta?.code === "string") return e.meta.code;
  if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  return e.cause ? sqlState(e.cause) : undefined;
}

export const isUniqueViolation = (err: unknown) => sqlState(err) === "23505";
export const isForeignKeyViolation = (err: unknown) => sqlState(err) === "23503";
export const isOutOfRange = (err: unknown) => sqlState(err) === "22003";
export const isDeadlock = (err: unknown) => sqlState(err) === "40P01";

// Connection-level failures: the server is down, restarting, refusing or out of connections. Not a
// missing database or a closed pool (our own configuration or shutdown), which stay internal errors.
const UNREACHABLE_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
const UNREACHABLE_SQLSTATE = /^(08...|57P01|57P02|57P03|53300)$/;
const UNREACHABLE_PRISMA = new Set(["P1001", "P1002", "P1017"]);
const UNREACHABLE_ADAPTER = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
const UNREACHABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Can't reach database server|Server has closed the connection|Query read timeout/i;

/** Whether an error means the database server cannot be reached right now (so: try again later). */
export function isDatabaseUnreachable(err: unknown, depth = 0): boolean {
  const e = err as {
    code?: unknown;
    kind?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: AdapterError };
    cause?: unknown;
  } | null;
  if (!e || typeof e !== "object" || depth > 8) return false;
  const adapter = e.meta?.driverAdapterError?.cause ?? e.meta?.driverAdapterError;
  if (adapter && isDatabaseUnreachable(adapter, depth + 1)) return true;
  if (typeof e.code === "string" && (UNREACHABLE_ERRNO.has(e.code) || UNREACHABLE_PRISMA.has(e.code) || UNREACHABLE_SQLSTATE.test(e.code)))
    return true;
  if (typeof e.kind === "string" && UNREACHABLE_ADAPTER.has(e.kind)) return true;
  if (typeof e.message === "string" && UNREACHABLE_MESSAGE.test(e.message)) return true;
  const errors = (e as { errors?: unknown }).errors; // AggregateError (every address refused)
  if (Array.isArray(errors) && errors.some((x) => isDatabaseUnreachable(x, depth + 1))) return true;
  return isDatabaseUnreachable(e.cause, depth + 1);
}

/** statement_timeout cancelled the statement (57014 is also a cancel by hand, which we never send). */
export const isStatementTimeout = (err: unknown) => sqlState(err) === "57014";

/** The database failing rather than answering: unreachable, or it did not answer in time. What its circuit breaker counts. */
export const isDatabaseFailure = (err: unknown) => isDatabaseUnreachable(err) || isStatementTimeout(err);
