// DataLoader batch functions must answer in the order of the keys asked, with
// null for a missing one; a SQL `IN (...)` returns rows in any order.
export function alignByIds<T extends { id: string }>(ids: readonly string[], rows: T[]): (T | null)[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id) ?? null);
}
