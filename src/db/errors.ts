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
