// The bulk import runner: takes the oldest waiting job and writes its staged
// rows in chunks, each chunk one transaction with its products, levels, ledger
// rows, events, row errors and the job's rows_done, so a runner that dies
// loses at most the chunk in flight and the next one resumes after the last
// committed chunk, never writing a row twice.
//
// Hand-rolled over the bulk_operation table rather than graphile-worker or
// pg-boss: those need PostgreSQL features PGlite (the embedded default) does
// not offer the same way (LISTEN across connections, their own schemas and
// migrations), and this one claim statement plus a heartbeat works
// identically on both. One job at a time across instances (claimNext).
import { randomUUID } from "node:crypto";
import type { DbClient, DbTransaction } from "../db/database.js";
import {
  claimNext,
  dropStagedRows,
  failOperation,
  finishChunk,
  firstLevelLocation,
  locationsByCode,
  lockChunk,
  openingCounts,
  productsBySku,
  releaseOperation,
  setLevels,
  upsertProducts,
  withWaitlist,
  type BulkImportMode,
  type BulkOperationErrorRow,
  type LevelTarget,
  type ProductFields,
} from "../db/bulk-import.sql.js";
import { createdEvents } from "../db/stock.sql.js";
import { priceChangedOutbox } from "../events/price-changed.event.js";
import type { OutboxSignal } from "../events/outbox-signal.js";
import { checkRow, isError, type ImportRow } from "./bulk-import-rows.js";
import { applyListPrices } from "./bulk-import-prices.js";
import { offerToWaitlist } from "./waitlist-offer.js";

export interface BulkImportRunnerOptions {
  /** Rows per transaction */
  chunkSize?: number;
  /** How often an idle runner looks for a job (an upload here wakes it at once) */
  pollMs?: number;
  /** A RUNNING job whose runner has not written a chunk for this long is taken over */
  staleMs?: number;
  waitlistTtlSeconds?: number;
  onError?: (err: unknown) => void;
  /**
   * After a chunk that created products or changed their fields (name, description, price) is committed:
   * no stock event says so, and catalogue caches must drop them (the app announces it to every instance).
   */
  onCatalogChanged?: () => void;
  /** After each committed change of a job's row (claimed, a chunk, finished, failed, given back): bulkOperationChanged's signal. */
  onOperationChanged?: (operationId: string) => void;
  /** Tests: called after each committed chunk */
  afterChunk?: (operationId: string, rowsDone: number) => void | Promise<void>;
}

/** A chunk that fails this many times in a row fails its job. */
const MAX_CHUNK_ATTEMPTS = 3;

export class BulkImportRunner {
  /** Whose claim a job is while this runner works on it. */
  readonly id = randomUUID();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private readonly chunkSize: number;
  private readonly pollMs: number;
  private readonly staleMs: number;

  /** Set by a chunk's transaction that created products or changed their fields; read once it committed. */
  private chunkChangedCatalog = false;

  constructor(
    private readonly prisma: DbClient,
    private readonly outbox: Pick<OutboxSignal, "committed">,
    private readonly options: BulkImportRunnerOptions = {},
  ) {
    this.chunkSize = options.chunkSize ?? 500;
    this.pollMs = options.pollMs ?? 1_000;
    this.staleMs = options.staleMs ?? 30_000;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Looks for a job now (an upload just queued one). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops after the chunk in flight; a job it was working on goes back to the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let id: string | null = null;
      try {
        id = await claimNext(this.prisma, this.id, this.staleMs);
      } catch (err) {
        this.options.onError?.(err);
      }
      if (id) {
        this.options.onOperationChanged?.(id); // RUNNING now
        await this.work(id);
      } else await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.wakeUp = done;
    });
  }

  private async work(id: string): Promise<void> {
    let attempts = 0;
    while (!this.stopping) {
      try {
        this.chunkChangedCatalog = false;
        const rowsDone = await this.prisma.$transaction((tx) => this.chunk(tx, id), { maxWait: 10_000, timeout: 60_000 });
        attempts = 0;
        if (this.chunkChangedCatalog) this.options.onCatalogChanged?.();
        if (rowsDone === null) {
          // Finished, cancelled or not ours any more (then another runner's, and its rows stay).
          await dropStagedRows(this.prisma, id).catch(this.options.onError);
          return;
        }
        this.outbox.committed();
        this.options.onOperationChanged?.(id);
        await this.options.afterChunk?.(id, rowsDone);
      } catch (err) {
        this.options.onError?.(err);
        if (++attempts >= MAX_CHUNK_ATTEMPTS) {
          await failOperation(this.prisma, id, this.id, "The import stopped: a chunk could not be written").then(
            () => this.options.onOperationChanged?.(id),
            this.options.onError,
          );
          await dropStagedRows(this.prisma, id).catch(this.options.onError);
          return;
        }
      }
    }
    await releaseOperation(this.prisma, id, this.id).then(() => this.options.onOperationChanged?.(id), this.options.onError);
  }

  /** One chunk; the job's rows_done after it, or null when there was nothing (more) to do. */
  private async chunk(tx: DbTransaction, id: string): Promise<number | null> {
    const locked = await lockChunk(tx, id, this.id, this.chunkSize);
    if (!locked || !locked.rows.length) return null;
    const { op, rows } = locked;
    const errors: BulkOperationErrorRow[] = [];
    let valid: ImportRow[] = [];
    const priceRows: ImportRow[] = [];
    for (const r of rows) {
      const checked = checkRow(r.row, r.data);
      if (isError(checked)) errors.push(checked);
      else (checked.priceList === null ? valid : priceRows).push(checked);
    }
    const refuse = (bad: Map<number, BulkOperationErrorRow>) => {
      errors.push(...bad.values());
      valid = valid.filter((r) => !bad.has(r.row));
    };

    const locations = await locationsByCode(tx, [...new Set(valid.flatMap((r) => (r.location === null ? [] : [r.location])))]);
    const badPlace = new Map<number, BulkOperationErrorRow>();
    for (const r of valid) {
      if (r.location === null) continue;
      const loc = locations.get(r.location.toLowerCase());
      if (!loc) badPlace.set(r.row, { row: r.row, column: "location", message: `No location with code ${r.location}` });
      else if (!loc.active) badPlace.set(r.row, { row: r.row, column: "location", message: `Location ${r.location} is deactivated` });
    }
    refuse(badPlace);

    const existing = await productsBySku(tx, [...new Set(valid.map((r) => r.sku))]);
    if (op.mode === ("CREATE_ONLY" satisfies BulkImportMode)) refuse(await this.existingSkus(tx, id, valid, existing, errors));

    // Levels of products that exist first: a count refused there refuses its whole row, product fields too.
    const target = (r: ImportRow, productId: string): LevelTarget => ({
      product_id: productId,
      location_id: locations.get(r.location!.toLowerCase())!.id,
      on_hand: r.onHand!,
      row: r.row,
    });
    const stocked = valid.filter((r) => r.location !== null);
    const first = await setLevels(
      tx,
      stocked.flatMap((r) => {
        const p = existing.get(r.sku.toLowerCase());
        return p ? [target(r, p)] : [];
      }),
      op.actor,
    );
    refuse(
      new Map(
        first.refused.map((x) => [
          x.row,
          { row: x.row, column: "on_hand", message: `on_hand is below the ${x.taken} units committed to orders or held there` },
        ]),
      ),
    );

    // New products. One whose only count in the chunk is for the location the database gives a new
    // product its first level is written as createProduct writes one: inserted with that count, its
    // ledger row and one CREATED event, nothing written twice. Counts anywhere else are changes to it,
    // through setLevels below, which makes them its CREATED event too.
    const fresh = stocked.filter((r) => !existing.has(r.sku.toLowerCase()));
    const firstLevel = fresh.length ? await firstLevelLocation(tx) : null;
    const countsOf = new Map<string, ImportRow[]>();
    for (const r of fresh) {
      const sku = r.sku.toLowerCase();
      if (countsOf.has(sku)) countsOf.get(sku)!.push(r);
      else countsOf.set(sku, [r]);
    }
    const countedAtInsert = new Map<string, number>();
    for (const [sku, counts] of countsOf) {
      const only = counts.length === 1 ? counts[0]! : null;
      if (only && locations.get(only.location!.toLowerCase())!.id === firstLevel) countedAtInsert.set(sku, only.onHand!);
    }

    // Product fields: the last row of a SKU in the chunk wins (rows of one SKU carry the same fields in an export).
    const fields = new Map<string, ProductFields>();
    for (const r of valid) {
      const sku = r.sku.toLowerCase();
      fields.set(sku, {
        sku: r.sku,
        name: r.name,
        description: r.description,
        price_cents: r.priceCents,
        currency: r.currency,
        stock: countedAtInsert.get(sku),
      });
    }
    const { created, createdBySku, updated, repriced } = await upsertProducts(tx, [...fields.values()]);
    this.chunkChangedCatalog ||= created.length + updated.length > 0;
    // A new base price is a price change, as updateProduct's: every process's price book drops it.
    if (repriced.length) {
      await tx.outboxEvent.createMany({
        data: repriced.map((r) =>
          priceChangedOutbox({ productId: r.id, priceListId: null, priceVersion: r.priceVersion, occurredAt: r.updatedAt.toISOString() }),
        ),
      });
    }

    // After the products: a price row may price a product an earlier row of the file created.
    errors.push(...(await applyListPrices(tx, priceRows, op.actor)));

    // The new products' counts: each new product gets one CREATED event, with its counts.
    let restocked = first.restocked;
    let withoutEvent = created;
    if (fresh.length) {
      // (Only a SKU another writer created meanwhile is looked up.)
      const ids = new Map(createdBySku);
      const others = [...countsOf.keys()].filter((sku) => !ids.has(sku));
      if (others.length) for (const [sku, productId] of await productsBySku(tx, others)) ids.set(sku, productId);
      const inserted = new Set(created);
      // (A product another writer created meanwhile was not inserted here: its count is a change, below.)
      const atInsert = [...countedAtInsert.keys()].map((sku) => ids.get(sku)!).filter((productId) => inserted.has(productId));
      await openingCounts(tx, atInsert, op.actor);
      const done = new Set(atInsert);
      const second = await setLevels(
        tx,
        fresh.flatMap((r) => {
          const productId = ids.get(r.sku.toLowerCase())!;
          return done.has(productId) ? [] : [{ ...target(r, productId), created: inserted.has(productId) }];
        }),
        op.actor,
      );
      restocked = [...restocked, ...second.restocked];
      const evented = new Set(second.restocked);
      withoutEvent = created.filter((productId) => !evented.has(productId));
    }
    if (withoutEvent.length) await createdEvents(tx, withoutEvent);
    // Units that arrive go to the waitlist first, as adjustStock's do (asked only for products with a line:
    // two statements per product otherwise).
    const waiting = await withWaitlist(tx, restocked);
    if (waiting.length) await offerToWaitlist(tx, waiting, this.options.waitlistTtlSeconds ?? 600);

    const rowsDone = rows.at(-1)!.row;
    errors.sort((a, b) => a.row - b.row);
    await finishChunk(tx, id, rowsDone, errors);
    return rowsDone;
  }

  /**
   * CREATE_ONLY: rows whose SKU existed before the job. A SKU this job created (its first row in the
   * file, earlier, was written) may have more rows (other locations).
   */
  private async existingSkus(
    tx: DbTransaction,
    id: string,
    valid: readonly ImportRow[],
    existing: Map<string, string>,
    errors: readonly BulkOperationErrorRow[],
  ): Promise<Map<number, BulkOperationErrorRow>> {
    const earlier = [...new Set(valid.filter((r) => existing.has(r.sku.toLowerCase()) && r.firstOfSku < r.row).map((r) => r.firstOfSku))];
    const failed = new Set(errors.map((e) => e.row));
    if (earlier.length) {
      const rows = await tx.$queryRaw<{ row: number }[]>`
        SELECT DISTINCT row FROM bulk_operation_error WHERE operation_id = ${id}::uuid AND row = ANY(${earlier}::int[])`;
      for (const r of rows) failed.add(r.row);
    }
    const bad = new Map<number, BulkOperationErrorRow>();
    // In file order, so a first row refused here refuses the SKU's later rows too.
    for (const r of valid) {
      if (!existing.has(r.sku.toLowerCase())) continue;
      if (r.firstOfSku < r.row && !failed.has(r.firstOfSku)) continue; // this job made it
      bad.set(r.row, { row: r.row, column: "sku", message: `A product with sku ${r.sku} exists (mode CREATE_ONLY)` });
      failed.add(r.row);
    }
    return bad;
  }
}
