// The graphql-ws subscriptions running in this process: per connection (its
// graphql-ws context), each operation id with its root field, for the cap per
// connection; per root field, how many, for the stockwire_live_subscriptions gauge.
export class SubscriptionCounts {
  private readonly open = new WeakMap<object, Map<string, string>>();
  /** Root field -> subscriptions running. */
  readonly active = new Map<string, number>();

  /** Holds a place for operation `id` on `connection`; false when it already has `max`. */
  hold(connection: object, id: string, field: string, max: number): boolean {
    const open = this.open.get(connection) ?? this.open.set(connection, new Map()).get(connection)!;
    if (open.size >= max) return false;
    open.set(id, field);
    this.count(field, 1);
    return true;
  }

  /** Gives operation `id`'s place back (nothing if it held none). */
  release(connection: object, id: string) {
    const open = this.open.get(connection);
    const field = open?.get(id);
    if (field === undefined) return;
    open!.delete(id);
    this.count(field, -1);
  }

  private count(field: string, by: number) {
    this.active.set(field, (this.active.get(field) ?? 0) + by);
  }
}
