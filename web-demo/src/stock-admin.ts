// The admin's stock per location: reads the picked product's levels, the
// locations and their transfers in one request (AdminStockQuery) and hands them
// to the level table and the transfer panel; runs their actions and reads
// again after each one, and on live changes of the picked product (its own
// stockChanged subscription, at most 4 updates a second). Reads never
// overlap: changes that arrive during one are served by one more. Every API
// answer, refusals and errors included, is shown in the panel's status lines,
// and nothing waits on a read but the view it fills.
import type { TadaDocumentNode } from "./graphql";
import { request, RequestError } from "./http";
import type { Live } from "./live";
import { ADJUSTMENT_REASONS } from "./adjustment-reasons";
import { LevelTable, type Level, type LocationInfo, type Outcome } from "./level-table";
import { TransferPanel, type OpenTransfer, type TransferElements } from "./transfers";
import {
  AdjustStockMutation,
  AdminStockLiveSubscription,
  AdminStockQuery,
  CancelTransferMutation,
  LocationTransfersQuery,
  ReceiveTransferMutation,
  SetOnHandMutation,
  TransferStockMutation,
} from "./operations";

/** Locations the view shows (a demo has a few), and transfers read per location and page. */
export const LOCATIONS_SHOWN = 20;
export const TRANSFERS_PAGE = 20;

export interface StockAdminElements {
  levels: HTMLTableSectionElement;
  levelsEmpty: HTMLElement;
  levelsResult: HTMLElement;
  transfers: TransferElements;
}

type Result = { __typename: string; message?: string };

export class StockAdmin {
  private readonly table: LevelTable;
  private readonly transfers: TransferPanel;
  private product: { id: string; name: string } | undefined;
  private productId = "";
  private unsubscribe: (() => void) | undefined;
  private loading = false;
  private again = false;

  constructor(
    els: StockAdminElements,
    private readonly live: Live,
    private readonly token: string,
  ) {
    this.table = new LevelTable(
      { body: els.levels, empty: els.levelsEmpty, result: els.levelsResult },
      {
        adjust: (location, delta, reason, note) =>
          this.act(AdjustStockMutation, { input: { productId: this.productId, locationId: location.id, delta, reason, note } }, (r) => {
            const level = r.adjustStock.__typename === "AdjustStockSuccess" ? this.levelAt(r.adjustStock.product, location) : undefined;
            const what = `${delta > 0 ? "Added" : "Took off"} ${Math.abs(delta)} × ${this.product?.name} at ${location.name}`;
            return level && `${what} (${ADJUSTMENT_REASONS[reason].label}): ${level.onHand} on hand, ${level.available} available there.`;
          }),
        setOnHand: (location, onHand, expectedVersion, note) =>
          this.act(
            SetOnHandMutation,
            { input: { productId: this.productId, locationId: location.id, onHand, expectedVersion, note } },
            (r) => {
              const level = r.setOnHand.__typename === "SetOnHandSuccess" ? this.levelAt(r.setOnHand.product, location) : undefined;
              return level && `Counted ${onHand} × ${this.product?.name} at ${location.name}: ${level.available} available there.`;
            },
          ),
      },
    );
    this.transfers = new TransferPanel(els.transfers, {
      send: (from, to, quantity) =>
        this.act(
          TransferStockMutation,
          { input: { productId: this.productId, from: from.id, to: to.id, quantity } },
          (r) =>
            r.transferStock.__typename === "TransferStockSuccess" &&
            `Sent ${quantity} × ${this.product?.name} from ${from.name} to ${to.name}.`,
        ),
      receive: (t, quantity) =>
        this.act(
          ReceiveTransferMutation,
          { input: { id: t.id, quantity, expectedVersion: t.version } },
          (r) =>
            r.receiveTransfer.__typename === "ReceiveTransferSuccess" &&
            `Received ${quantity ?? t.inTransit} × ${t.product.name} at ${t.to.name}.`,
        ),
      cancel: (t, quantity) =>
        this.act(
          CancelTransferMutation,
          { input: { id: t.id, quantity, expectedVersion: t.version } },
          (r) =>
            r.cancelTransfer.__typename === "CancelTransferSuccess" &&
            `Cancelled ${quantity ?? t.inTransit} × ${t.product.name}: back at ${t.from.name}.`,
        ),
    });
  }

  /** Follows another product ("": none); the same one again changes nothing. */
  show(productId: string): void {
    if (productId === this.productId) return;
    this.productId = productId;
    // Nothing of the previous product stays actionable while the new one is read.
    this.product = undefined;
    this.table.show(undefined, new Map());
    this.transfers.showProduct(undefined, [], new Map());
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (productId) {
      // Its first answer is the count as of subscribing (read below anyway); each later one is a change.
      let first = true;
      this.unsubscribe = this.live.subscribe(AdminStockLiveSubscription, { id: productId }, () => {
        if (!first) this.refresh();
        first = false;
      });
    }
    this.refresh();
  }

  /** Reads everything again (coalesced: at most one read at a time, and one more for what came meanwhile). */
  refresh(): void {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    void this.load()
      .catch((err) => this.table.say({ ok: false, message: `Could not read the stock levels: ${(err as Error).message}` }))
      .finally(() => {
        this.loading = false;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private async load() {
    const productId = this.productId;
    const data = await request(
      AdminStockQuery,
      { id: productId, withProduct: Boolean(productId), locations: LOCATIONS_SHOWN, transfers: TRANSFERS_PAGE },
      this.token,
    );
    if (productId !== this.productId) return void (this.again = true); // picked another meanwhile
    const locations: LocationInfo[] = data.locations.edges.map((e) => e.node);
    const transfers = new Map<string, OpenTransfer>();
    for (const { node } of data.locations.edges) {
      for (const e of node.transfers?.edges ?? []) transfers.set(e.node.id, e.node);
      // Pages run oldest first: a full first page (a busy location) is followed to its end.
      let page = node.transfers?.pageInfo;
      while (page?.hasNextPage && page.endCursor) {
        const more = await request(LocationTransfersQuery, { id: node.id, first: 100, after: page.endCursor }, this.token);
        const next = more.node && "transfers" in more.node ? more.node.transfers : null;
        for (const e of next?.edges ?? []) transfers.set(e.node.id, e.node);
        page = next?.pageInfo;
      }
    }
    const product = data.product ?? undefined;
    this.product = product;
    const levels = new Map<string, Level>((product?.stockLevels ?? []).map((l) => [l.location.id, l]));
    // Stock moves only at active locations; allocation order (the API's order of locations is oldest first).
    const active = locations.filter((l) => l.active).sort((a, b) => a.priority - b.priority);
    this.table.show(product && active, levels);
    this.transfers.showProduct(product, active, levels);
    this.transfers.showOpen([...transfers.values()]);
  }

  private levelAt(product: { stockLevels: readonly (Level & { location: { id: string } })[] }, location: LocationInfo) {
    return product.stockLevels.find((l) => l.location.id === location.id);
  }

  /**
   * Runs a mutation and says how it went: `success` words a success (falsy: the
   * answer was a refusal, whose message is shown). Reads everything again after.
   */
  private async act<R extends Record<string, Result>, V>(
    doc: TadaDocumentNode<R, V>,
    variables: V,
    success: (result: R) => string | false | undefined,
  ): Promise<Outcome> {
    let outcome: Outcome;
    try {
      const result = await request(doc, variables, this.token);
      const said = success(result);
      const answer = Object.values(result)[0]!;
      outcome = said ? { ok: true, message: said } : { ok: false, message: answer.message ?? answer.__typename };
    } catch (err) {
      outcome = { ok: false, message: err instanceof RequestError ? err.message : String(err) };
    }
    this.refresh();
    return outcome;
  }
}
