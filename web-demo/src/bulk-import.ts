// The admin's catalogue import: a CSV or JSONL file uploaded as a GraphQL
// multipart request (the spec's operations / map / 0 fields, with fetch and
// FormData: the browser streams the file, the page never reads it), then the
// job followed live on bulkOperationChanged (a progress bar and its status),
// a Cancel button while it runs, and the rows it refused (the first
// ERRORS_SHOWN, with a note when there are more).
import { h } from "./dom";
import type { ResultOf } from "./graphql";
import { request, RequestError, source } from "./http";
import { createLive, type Live } from "./live";
import {
  BulkOperationChangedSubscription,
  BulkOperationErrorsQuery,
  CancelBulkOperationMutation,
  StartBulkImportMutation,
} from "./operations";

export const ERRORS_SHOWN = 50;

export interface BulkImportElements {
  form: HTMLFormElement;
  file: HTMLInputElement;
  mode: HTMLSelectElement;
  start: HTMLButtonElement;
  cancel: HTMLButtonElement;
  progress: HTMLProgressElement;
  status: HTMLElement;
  errors: HTMLOListElement;
  more: HTMLElement;
}

type Operation = ResultOf<typeof BulkOperationChangedSubscription>["bulkOperationChanged"];
type Mode = "UPSERT" | "CREATE_ONLY";

const FINISHED = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const STATUS_LABEL: Record<string, string> = {
  QUEUED: "Queued",
  RUNNING: "Importing",
  COMPLETED: "Completed",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
};

export class BulkImportForm {
  /** The admin's own socket (bulkOperationChanged is for admins), opened with the first import. */
  private live: Live | undefined;
  private stop: (() => void) | undefined;
  private current: string | undefined;

  constructor(
    private readonly els: BulkImportElements,
    private readonly token: string,
  ) {
    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const file = els.file.files?.[0];
      if (file) void this.start(file, els.mode.value as Mode);
    });
    els.cancel.addEventListener("click", () => void this.cancel());
  }

  private async start(file: File, mode: Mode) {
    this.stop?.();
    this.els.start.disabled = true;
    this.els.errors.replaceChildren();
    this.els.more.hidden = true;
    this.say(`Uploading ${file.name}…`, "");
    try {
      const result = await this.upload(file, mode);
      if (result.__typename !== "StartBulkImportSuccess") throw new RequestError(result.message);
      this.follow(result.bulkOperation);
    } catch (err) {
      this.say((err as Error).message, "error");
      this.els.start.disabled = false;
    }
  }

  /** POST /graphql as multipart/form-data; the browser sets the boundary and streams the file. */
  private async upload(file: File, mode: Mode) {
    const body = new FormData();
    body.append("operations", JSON.stringify({ query: source(StartBulkImportMutation), variables: { file: null, mode } }));
    body.append("map", JSON.stringify({ 0: ["variables.file"] }));
    body.append("0", file, file.name);
    let res: Response;
    try {
      res = await fetch("/graphql", { method: "POST", headers: { authorization: `Bearer ${this.token}` }, body });
    } catch {
      throw new RequestError("The server cannot be reached.");
    }
    const json = (await res.json().catch(() => null)) as {
      data?: ResultOf<typeof StartBulkImportMutation> | null;
      errors?: { message: string }[];
    } | null;
    if (json?.errors?.length) throw new RequestError(json.errors.map((e) => e.message).join("; "));
    if (!json?.data) throw new RequestError(`The server answered HTTP ${res.status}.`);
    return json.data.startBulkImport;
  }

  private follow(op: Operation) {
    this.current = op.id;
    this.show(op);
    this.live ??= createLive(this.token);
    this.stop = this.live.subscribe(
      BulkOperationChangedSubscription,
      { id: op.id },
      ({ bulkOperationChanged: next }) => {
        if (next.id === this.current) this.show(next);
      },
      (message) => this.say(message, "error"),
    );
  }

  private show(op: Operation) {
    const { progress } = this.els;
    progress.hidden = false;
    progress.max = Math.max(op.rowsTotal, 1);
    progress.value = op.rowsTotal ? op.rowsDone : FINISHED.has(op.status) ? 1 : 0;
    const percent = op.rowsTotal ? Math.floor((op.rowsDone / op.rowsTotal) * 100) : 0;
    progress.textContent = `${percent}%`;
    const refused = op.rowsFailed ? `, ${op.rowsFailed} refused` : "";
    const finished = FINISHED.has(op.status);
    this.say(
      `${STATUS_LABEL[op.status] ?? op.status}: ${op.rowsDone} of ${op.rowsTotal} rows${refused}`,
      finished ? (op.status === "COMPLETED" ? "ok" : "error") : "",
    );
    this.els.progress.dataset.status = op.status;
    this.els.cancel.hidden = finished;
    this.els.start.disabled = !finished;
    if (finished) {
      this.stop?.();
      this.stop = undefined;
      if (op.rowsFailed) void this.loadErrors(op.id);
    }
  }

  private async loadErrors(id: string) {
    try {
      const { bulkOperation } = await request(BulkOperationErrorsQuery, { id, first: ERRORS_SHOWN }, this.token);
      if (!bulkOperation || id !== this.current) return;
      const rows = bulkOperation.errors.edges.map(({ node: e }) =>
        h(
          "li",
          { dataset: { row: String(e.row) } },
          h("span", { class: "import-error-row", text: `Row ${e.row}` }),
          e.column ? h("code", { class: "import-error-column", text: e.column }) : null,
          h("span", { class: "import-error-message", text: e.message }),
        ),
      );
      this.els.errors.replaceChildren(...rows);
      const more = bulkOperation.rowsFailed - rows.length;
      this.els.more.hidden = !bulkOperation.errors.pageInfo.hasNextPage;
      this.els.more.textContent = `Showing the first ${rows.length} refused rows${more > 0 ? ` of ${bulkOperation.rowsFailed}` : ""}.`;
    } catch (err) {
      this.say(`Could not load the refused rows: ${(err as Error).message}`, "error");
    }
  }

  private async cancel() {
    const id = this.current;
    if (!id) return;
    this.els.cancel.disabled = true;
    try {
      const { cancelBulkOperation: r } = await request(CancelBulkOperationMutation, { id }, this.token);
      if (r.__typename !== "CancelBulkOperationSuccess" && "message" in r) this.say(r.message, "error");
    } catch (err) {
      this.say((err as Error).message, "error");
    } finally {
      this.els.cancel.disabled = false;
    }
  }

  private say(message: string, kind: "ok" | "error" | "") {
    this.els.status.textContent = message;
    this.els.status.className = `form-result ${kind}`.trim();
  }
}
