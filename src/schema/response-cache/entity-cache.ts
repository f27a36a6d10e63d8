// The store behind @graphql-yoga/plugin-response-cache: results by cache key in an LRU bounded by
// entries and bytes (lru-cache), and an index from each entity (typename, and typename:id) to the
// results that contain it, so a change to one product drops exactly the results that show it.
// It is the library's in-memory cache (@envelop/response-cache createInMemoryCache) plus what that
// one lacks and exactness needs, hence written here:
// - a byte bound (lru-cache maxSize) and counters for metrics;
// - a store is refused when an entity in it was invalidated after the request that computed it
//   began (it may have read the row before the change), or within `staleReadMs` before that (a read
//   replica may not have replayed the change yet);
// - while the change stream is down it serves nothing and stores nothing (entries it holds could
//   have missed their invalidation), and after it returns it takes nothing computed before.
import { LRUCache } from "lru-cache";
import type { ExecutionResult } from "graphql";
import type { Cache } from "@graphql-yoga/plugin-response-cache";

export interface CacheEntity {
  typename: string;
  id?: number | string;
}

export interface EntityCacheOptions {
  maxEntries: number;
  /** Bound on the results' JSON (UTF-16 code units, bytes for ASCII), plus a fixed overhead per entry. */
  maxBytes: number;
  /** Longest an entry lives (a change made outside the app, SQL by hand, has no event). */
  ttlMs: number;
  /** How far behind the primary a read may be (read replicas: the lag bound plus a check); 0 without replicas. */
  staleReadMs?: number;
  /** Longest a request may take from start to store; older requests' results are not stored. */
  maxRequestMs?: number;
  now?: () => number;
}

export interface EntityCacheStats {
  hits: number;
  /** Shareable requests that were executed (counted by the plugin). */
  misses: number;
  /** Results dropped because an entity in them changed. */
  invalidations: number;
  /** Results dropped by the LRU bound. */
  evictions: number;
  /** Results not stored because one of their entities changed while (or just before) they were computed. */
  refused: number;
}

/** Who is storing: when its request began (the cache's clock). */
export interface StoreTicket {
  startedAt: number;
  /** Entities the result depends on beyond those it contains (e.g. a filter over every product's stock). */
  dependsOn?: readonly CacheEntity[];
  /** Told when the result was stored. */
  stored?: () => void;
}

interface Entry {
  result: ExecutionResult;
  keys: string[];
  bytes: number;
}

const ENTRY_OVERHEAD_BYTES = 200;
const entityKey = (typename: string, id?: number | string) => (id == null ? typename : `${typename}:${id}`);

export class EntityCache implements Cache {
  readonly stats: EntityCacheStats = { hits: 0, misses: 0, invalidations: 0, evictions: 0, refused: 0 };
  private readonly entries: LRUCache<string, Entry>;
  private readonly index = new Map<string, Set<string>>();
  /** When each entity was last invalidated, for as long as a request that began before could still store. */
  private readonly changedAt: LRUCache<string, number>;
  /** Stores from requests that began before this are refused (the change log forgot, or the stream was down). */
  private trustSince: number;
  private readonly suspendedBy = new Set<string>();
  private ticket: StoreTicket | undefined;
  private readonly now: () => number;
  private readonly staleReadMs: number;
  private readonly maxRequestMs: number;

  constructor(opts: EntityCacheOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.staleReadMs = opts.staleReadMs ?? 0;
    this.maxRequestMs = opts.maxRequestMs ?? 30_000;
    this.trustSince = this.now();
    this.entries = new LRUCache<string, Entry>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e) => Math.max(1, e.bytes),
      ttl: opts.ttlMs,
      allowStale: false,
      noDisposeOnSet: false,
      dispose: (entry, key, reason) => {
        this.unindex(key, entry);
        if (reason === "evict") this.stats.evictions++;
      },
    });
    this.changedAt = new LRUCache<string, number>({
      max: 200_000,
      ttl: this.staleReadMs + this.maxRequestMs,
      ttlAutopurge: false,
      // Forgotten for lack of room: nothing that began before now can be proven fresh.
      dispose: (_at, _key, reason) => {
        if (reason === "evict") this.trustSince = this.now();
      },
    });
  }

  get size() {
    return { entries: this.entries.size, bytes: this.entries.calculatedSize };
  }

  /** Whether entries are served (false while the change stream is down). */
  get serving() {
    return this.suspendedBy.size === 0;
  }

  get suspendedReasons(): string[] {
    return [...this.suspendedBy];
  }

  /** The cache's clock, for tickets. */
  clock(): number {
    return this.now();
  }

  /** The next set() comes from this request (the plugin calls onTtl, then set, synchronously). */
  prepareStore(ticket: StoreTicket | undefined) {
    this.ticket = ticket;
  }

  get(key: string): ExecutionResult | null {
    if (!this.serving) return null;
    const entry = this.entries.get(key);
    if (!entry) return null;
    this.stats.hits++;
    return entry.result;
  }

  set(key: string, result: ExecutionResult, entities: Iterable<CacheEntity>, ttl: number): void {
    const ticket = this.ticket;
    this.ticket = undefined;
    if (!ticket || !this.serving || !(ttl > 0)) return;
    const keys = new Set<string>();
    for (const { typename, id } of [...entities, ...(ticket.dependsOn ?? [])]) {
      keys.add(typename);
      if (id != null) keys.add(entityKey(typename, id));
    }
    if (!this.fresh(ticket.startedAt, keys)) {
      this.stats.refused++;
      return;
    }
    // Only the data: extensions (cost, rate-limit headers) belong to the request that made it.
    const stored: ExecutionResult = { data: result.data };
    const bytes = JSON.stringify(stored.data).length + ENTRY_OVERHEAD_BYTES;
    this.entries.delete(key);
    this.entries.set(key, { result: stored, keys: [...keys], bytes }, { ttl: Math.min(ttl, this.entries.ttl) });
    if (!this.entries.has(key)) return; // larger than the whole bound
    for (const k of keys) {
      let keysOf = this.index.get(k);
      if (!keysOf) this.index.set(k, (keysOf = new Set()));
      keysOf.add(key);
    }
    ticket.stored?.();
  }

  /** Drops every result that contains one of the entities (by typename alone: every result with that type). */
  invalidate(entities: Iterable<CacheEntity>): void {
    const at = this.now();
    for (const { typename, id } of entities) {
      const key = entityKey(typename, id);
      this.changedAt.set(key, at);
      const keysOf = this.index.get(key);
      if (!keysOf) continue;
      for (const responseKey of [...keysOf]) {
        if (this.entries.delete(responseKey)) this.stats.invalidations++;
      }
    }
  }

  /** Stops serving and storing (the change stream is down, `reason` says which part); drops everything held. */
  suspend(reason: string) {
    this.suspendedBy.add(reason);
    this.clear();
  }

  /** `reason` is back; serving again once no reason is left, with nothing computed before. */
  resume(reason: string) {
    if (!this.suspendedBy.delete(reason)) return;
    this.clear();
  }

  clear() {
    this.entries.clear();
    this.index.clear();
    this.trustSince = this.now();
  }

  private fresh(startedAt: number, keys: Iterable<string>): boolean {
    if (startedAt < this.trustSince || this.now() - startedAt > this.maxRequestMs) return false;
    const since = startedAt - this.staleReadMs;
    for (const k of keys) {
      const at = this.changedAt.get(k);
      if (at !== undefined && at >= since) return false;
    }
    return true;
  }

  private unindex(key: string, entry: Entry) {
    for (const k of entry.keys) {
      const keysOf = this.index.get(k);
      if (!keysOf) continue;
      keysOf.delete(key);
      if (keysOf.size === 0) this.index.delete(k);
    }
  }
}
