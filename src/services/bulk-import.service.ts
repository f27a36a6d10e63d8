// Bulk import (startBulkImport), admins only: the file is checked and parsed
// at upload and its rows staged with the job in one transaction, so a refused
// file writes nothing and a job, once there, has all its rows. The runner
// (bulk-import-runner.ts) writes them.
import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import { expiresAt, isAdmin, requireAdmin, type RequestContext } from "../auth/viewer.js";
import type { PubSubBackend } from "../realtime/pubsub.js";
import type { DbClient } from "../db/database.js";
import type { RawSql } from "../db/raw-sql.js";
import {
  cancelOperation,
  operationErrors,
  operationsByIds,
  stageImport,
  type BulkImportMode,
  type BulkOperationErrorRow,
  type BulkOperationRow,
} from "../db/bulk-import.sql.js";
import { BulkImportFileError, NotFoundError, ValidationError } from "../errors/domain-errors.js";
import { alignByIds } from "../db/align-by-ids.js";
import { parseImportFile } from "./bulk-import-file.js";
import { actorOf } from "./hold-status.js";
import type { BulkImportRunner } from "./bulk-import-runner.js";
import { requireUuid } from "./limits.js";
import { bulkOperationFeed } from "./bulk-operation-feed.js";

export type { BulkOperationRow, BulkOperationErrorRow };

/** BULK_IMPORT_MAX_BYTES' default: 50 MB. */
export const DEFAULT_BULK_IMPORT_MAX_BYTES = 50 * 1024 * 1024;

/** What startBulkImport reads of Yoga's File. */
export interface UploadedFile {
  name: string;
  size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A Blob or File, native or @whatwg-node's ponyfill (what Yoga's multipart parser gives; not instanceof Blob). */
export const isBlobLike = (f: unknown): f is { name?: unknown; size: number; arrayBuffer(): Promise<ArrayBuffer> } =>
  typeof f === "object" && f !== null && typeof (f as Blob).arrayBuffer === "function" && typeof (f as Blob).size === "number";

const isUpload = (f: unknown): f is UploadedFile => isBlobLike(f) && typeof f.name === "string";

/**
 * How long a watcher's read of a job waits for the job's other watchers to ask too: one statement
 * answers them all. Each such statement starts after every read it answers was asked for, so none
 * misses a commit announced before it asked (joining a read already under way could).
 */
const WATCHERS_READ_WINDOW_MS = 10;
const watchersBatch = { cache: false, batchScheduleFn: (run: () => void) => void setTimeout(run, WATCHERS_READ_WINDOW_MS) };

export class BulkImportService {
  /** bulkOperationChanged's reads of jobs: 100 watchers of a job, one statement per update. */
  private readonly watchedJobs = new DataLoader<string, BulkOperationRow | null>(
    async (ids) => alignByIds(ids, await operationsByIds(this.prisma, [...new Set(ids)])),
    watchersBatch,
  );
  /** And of their pages of errors, keyed by job, offset and limit. */
  private readonly watchedErrors = new DataLoader<string, BulkOperationErrorRow[]>(async (keys) => {
    const pages = new Map<string, Promise<BulkOperationErrorRow[]>>();
    for (const key of new Set(keys)) {
      const [id, offset, limit] = key.split(" ");
      pages.set(key, operationErrors(this.prisma, id!, Number(offset), Number(limit)));
    }
    return Promise.all(keys.map((k) => pages.get(k)!));
  }, watchersBatch);

  constructor(
    private readonly prisma: DbClient,
    /** Staging goes straight to the driver (stageImport says why). */
    private readonly sql: RawSql,
    private readonly runner: Pick<BulkImportRunner, "wake">,
    readonly maxBytes = DEFAULT_BULK_IMPORT_MAX_BYTES,
    /** bulkOperationChanged's signals: every instance's subscribers hear of a change made on any. */
    private readonly pubsub?: Pick<PubSubBackend, "publish" | "subscribe" | "onResync">,
  ) {}

  async start(ctx: RequestContext, file: UploadedFile, mode: BulkImportMode): Promise<BulkOperationRow> {
    requireAdmin(ctx);
    if (mode !== "UPSERT" && mode !== "CREATE_ONLY") throw new ValidationError("mode", "mode must be UPSERT or CREATE_ONLY");
    // The compiled execution (graphql-jit) does not always run the File scalar's parseValue: checked here too.
    if (!isUpload(file)) throw new ValidationError("file", "file must be a file part of a multipart request");
    // Before reading it: the size the multipart parser counted.
    if (file.size > this.maxBytes) {
      throw new BulkImportFileError("TOO_LARGE", `The file is ${file.size} bytes; at most ${this.maxBytes} are accepted`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const id = randomUUID();
    // Staged as it is parsed, in one transaction: a file refused part-way stages nothing.
    await stageImport(this.sql, { id, mode, actor: actorOf(ctx) }, (stage) => parseImportFile(bytes, file.name, this.maxBytes, stage));
    this.runner.wake();
    return (await operationsByIds(this.prisma, [id]))[0]!;
  }

  /** Admins only: null for anyone else, as for an id of nothing. */
  async byIds(ctx: RequestContext, ids: readonly string[]): Promise<(BulkOperationRow | null)[]> {
    if (!isAdmin(ctx)) return ids.map(() => null);
    return alignByIds(ids, await operationsByIds(this.prisma, ids));
  }

  /** A page of a job's errors; `watched`: for a bulkOperationChanged update (read together with the job's other watchers'). */
  errors(id: string, offset: number, limit: number, watched = false): Promise<BulkOperationErrorRow[]> {
    if (watched) return this.watchedErrors.load(`${id} ${offset} ${limit}`);
    return operationErrors(this.prisma, id, offset, limit);
  }

  /** A job not finished yet stops (after the chunk in flight); a finished one is returned as it is. */
  async cancel(ctx: RequestContext, id: string): Promise<BulkOperationRow> {
    requireAdmin(ctx);
    const op = await cancelOperation(this.prisma, requireUuid("id", id));
    if (!op) throw new NotFoundError("BulkOperation", id);
    this.announce(op.id);
    return op;
  }

  /** Tells every instance's bulkOperationChanged subscribers that the job's row changed (committed). */
  announce(id: string): void {
    void this.pubsub?.publish("bulkOperation", id, { id }).catch(() => {});
  }

  /** bulkOperationChanged: admins only; the job now, then as it changes (at most 4 a second), until it finished. */
  async changes(ctx: RequestContext, id: string): Promise<AsyncIterable<BulkOperationRow>> {
    requireAdmin(ctx);
    const [op] = await operationsByIds(this.prisma, [requireUuid("id", id)]);
    if (!op) throw new NotFoundError("BulkOperation", id);
    if (!this.pubsub) throw new Error("bulkOperationChanged needs the pub/sub backend");
    return bulkOperationFeed(op.id, { pubsub: this.pubsub, read: (key) => this.watchedJobs.load(key), expiresAt: expiresAt(ctx) });
  }
}
