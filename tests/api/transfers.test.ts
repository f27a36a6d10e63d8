// Transfers between locations on real PostgreSQL: units leave `from`'s on
// hand (only what is available there), show as incoming at `to`, arrive in
// parts, and what is left can be cancelled back; each step is one stock
// event and ledger rows that keep the ledger invariant.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";
import { rowId } from "../support/shop.js";
import { ledgerMismatches } from "../../src/db/ledger.sql.js";

let api: Api;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

let counter = 0;
async function admin(query: string, variables: Record<string, unknown>) {
  const res = await api.admin(query, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as any;
}
const createLocation = async (priority: number) =>
  (
    await admin(
      `mutation($input: CreateLocationInput!) { createLocation(input: $input) { ... on CreateLocationSuccess { location { id code } } } }`,
      {
        input: { code: `TR-${process.pid}-${++counter}`, name: "L", fulfilsOrders: true, priority },
      },
    )
  ).createLocation.location as { id: string; code: string };

const TRANSFER_FIELDS = `id quantity received cancelled inTransit status version from { code } to { code }`;
const send = (input: Record<string, unknown>) =>
  admin(
    `mutation($input: TransferStockInput!) { transferStock(input: $input) { __typename ... on TransferStockSuccess { transfer { ${TRANSFER_FIELDS} } }
      ... on InsufficientStockError { available } ... on ValidationError { field } } }`,
    { input },
  ).then((d) => d.transferStock);
const settle = (how: "receiveTransfer" | "cancelTransfer", input: Record<string, unknown>) =>
  admin(
    `mutation($input: SettleTransferInput!) { ${how}(input: $input) { __typename ... on ${how === "receiveTransfer" ? "ReceiveTransfer" : "CancelTransfer"}Success { transfer { ${TRANSFER_FIELDS} } }
      ... on TransferNotInTransitError { status } ... on ValidationError { field } ... on VersionConflictError { currentVersion } } }`,
    { input },
  ).then((d) => d[how]);
const levels = async (productId: string) =>
  Object.fromEntries(
    (
      await admin(`query($id: ID!) { product(id: $id) { stockLevels { location { code } onHand incoming available } } }`, { id: productId })
    ).product.stockLevels.map((l: any) => [l.location.code, { onHand: l.onHand, incoming: l.incoming, available: l.available }]),
  );

describe("transfers", () => {
  it("sends from what is available, receives in parts, cancels the rest back", async () => {
    const [a, b] = [await createLocation(20), await createLocation(21)];
    const product = await api.createProduct({ stock: 0 });
    await admin(`mutation($input: AdjustStockInput!) { adjustStock(input: $input) { __typename } }`, {
      input: { productId: product.id, locationId: a.id, delta: 10, reason: "RECEIVED" },
    });
    expect(await send({ productId: product.id, from: a.id, to: b.id, quantity: 11 })).toMatchObject({
      __typename: "InsufficientStockError",
      available: 10,
    });
    expect(await send({ productId: product.id, from: a.id, to: a.id, quantity: 1 })).toMatchObject({ __typename: "ValidationError" });

    const sent = await send({ productId: product.id, from: a.id, to: b.id, quantity: 6 });
    expect(sent).toMatchObject({ __typename: "TransferStockSuccess", transfer: { quantity: 6, inTransit: 6, status: "IN_TRANSIT" } });
    expect(await levels(product.id)).toMatchObject({ [a.code]: { onHand: 4, incoming: 0 }, [b.code]: { onHand: 0, incoming: 6 } });
    const id = sent.transfer.id;

    const part = await settle("receiveTransfer", { id, quantity: 4 });
    expect(part).toMatchObject({ transfer: { received: 4, inTransit: 2, status: "IN_TRANSIT", version: 1 } });
    expect(await levels(product.id)).toMatchObject({ [b.code]: { onHand: 4, incoming: 2, available: 4 } });
    expect(await settle("receiveTransfer", { id, quantity: 3 })).toMatchObject({ __typename: "ValidationError", field: "quantity" });
    expect(await settle("cancelTransfer", { id, expectedVersion: 0 })).toMatchObject({
      __typename: "VersionConflictError",
      currentVersion: 1,
    });

    const rest = await settle("cancelTransfer", { id });
    expect(rest).toMatchObject({ transfer: { received: 4, cancelled: 2, inTransit: 0, status: "RECEIVED" } });
    expect(await levels(product.id)).toMatchObject({ [a.code]: { onHand: 6, incoming: 0 }, [b.code]: { onHand: 4, incoming: 0 } });
    expect(await settle("receiveTransfer", { id })).toMatchObject({ __typename: "TransferNotInTransitError", status: "RECEIVED" });

    // One event per step; ledger rows per location; the invariant holds.
    const { rows } = await api.sql.query(
      `SELECT payload->>'reason' AS reason, (payload->>'stock')::int AS stock FROM outbox_event WHERE key = $1 AND payload->>'reason' LIKE 'TRANSFER_%' ORDER BY id`,
      [rowId(product.id)],
    );
    expect(rows).toEqual([
      { reason: "TRANSFER_SENT", stock: 4 },
      { reason: "TRANSFER_RECEIVED", stock: 8 },
      { reason: "TRANSFER_CANCELLED", stock: 10 },
    ]);
    expect(await ledgerMismatches(api.db.prisma)).toEqual([]);

    const listed = await admin(
      `query($id: ID!) { node(id: $id) { ... on Location { transfers(first: 10) { edges { node { id status } } } } } }`,
      {
        id: b.id,
      },
    );
    expect(listed.node.transfers.edges).toEqual([{ node: { id, status: "RECEIVED" } }]);
  });

  it("a transfer cancelled before anything arrived is CANCELLED and every unit is back", async () => {
    const [a, b] = [await createLocation(30), await createLocation(31)];
    const product = await api.createProduct({ stock: 0 });
    await admin(`mutation($input: AdjustStockInput!) { adjustStock(input: $input) { __typename } }`, {
      input: { productId: product.id, locationId: a.id, delta: 3, reason: "RECEIVED" },
    });
    const sent = await send({ productId: product.id, from: a.id, to: b.id, quantity: 3 });
    expect(await settle("cancelTransfer", { id: sent.transfer.id })).toMatchObject({ transfer: { status: "CANCELLED", cancelled: 3 } });
    expect(await levels(product.id)).toMatchObject({ [a.code]: { onHand: 3 }, [b.code]: { onHand: 0, incoming: 0 } });
  });
});
