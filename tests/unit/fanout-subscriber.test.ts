// One fan-out subscriber's rules (fanout/subscriber.ts) against a fake target
// whose backlog the test sets: per product, versions only grow; while the
// socket is backed up or the rate does not allow a message, only the newest
// update is held and it goes out later; products do not block each other.
// tests/realtime/fanout.test.ts runs the same rules over real sockets.
import { describe, expect, it } from "vitest";
import { Delivery, Subscriber, type Target } from "../../src/fanout/subscriber.js";

const delivery = (productId: string, version: number) => new Delivery(`${productId}@${version}`, { data: null });

function setup(maxUpdatesPerSecond?: number) {
  const sent: string[] = [];
  const target: Target & { queued: number } = {
    describe: "test subscriber",
    queued: 0,
    send: (d) => void sent.push(d.json),
    backlog: () => target.queued,
    closeSlow: () => {},
  };
  const held = new Set<Subscriber>();
  const host = { stats: { deliveries: 0, conflated: 0 }, hold: (s: Subscriber) => void held.add(s) };
  const sub = new Subscriber("shape", target, { productIds: ["a", "b"], maxUpdatesPerSecond: maxUpdatesPerSecond ?? null }, host);
  const a = sub.watch("a");
  const b = sub.watch("b");
  const offer = (w: typeof a, version: number, now = 0) => sub.offer(w, version, delivery(w.productId, version), now);
  return { sub, target, host, held, sent, a, b, offer };
}

describe("fan-out subscriber", () => {
  it("sends the snapshot first, then only newer versions, per product", () => {
    const { sub, sent, host, a, b, offer } = setup();
    offer(a, 4); // before start: held until the snapshot went out
    sub.start([
      { watch: a, version: 3, rendered: delivery("a", 3) },
      { watch: b, version: 7, rendered: delivery("b", 7) },
    ]);
    offer(a, 4); // a duplicate
    offer(b, 6); // older than b's snapshot
    offer(b, 8);
    offer(a, 5);
    expect(sent).toEqual(["a@3", "b@7", "a@4", "b@8", "a@5"]);
    expect(host.stats.deliveries).toBe(5);
  });

  it("while the socket is backed up, holds only the newest per product, then sends it; never an older one after", () => {
    const { sub, target, host, held, sent, a, b, offer } = setup();
    sub.start([]);
    offer(a, 1);
    target.queued = 1 << 20;
    offer(a, 2);
    offer(a, 3);
    offer(b, 1);
    expect(sent).toEqual(["a@1"]);
    expect(held.has(sub)).toBe(true);
    expect(sub.flush(100)).toBe("stalled");
    expect(sub.stalledSince).toBe(100);
    target.queued = 0;
    offer(a, 2); // late duplicate of a held-over version: dropped
    expect(sub.flush(200)).toBe("done");
    offer(a, 3);
    expect(sent).toEqual(["a@1", "a@3", "b@1"]);
    expect(host.stats.conflated).toBe(1);
    expect(sub.stalledSince).toBe(0);
  });

  it("with maxUpdatesPerSecond, holds what comes too soon and sends the newest when its slot comes", () => {
    const { sub, sent, host, a, b, offer } = setup(10); // one per 100 ms per product
    sub.start([]);
    offer(a, 1, 1_000);
    offer(a, 2, 1_010);
    offer(a, 3, 1_050);
    offer(b, 1, 1_050); // another product has its own slot
    expect(sent).toEqual(["a@1", "b@1"]);
    expect(sub.flush(1_090)).toBe("waiting");
    expect(sub.flush(1_100)).toBe("done");
    expect(sent).toEqual(["a@1", "b@1", "a@3"]);
    expect(host.stats.conflated).toBe(1);
  });

  it("sends nothing once closed", () => {
    const { sub, sent, a, offer } = setup();
    sub.start([]);
    sub.close();
    offer(a, 1);
    expect(sub.flush(0)).toBe("done");
    expect(sent).toEqual([]);
  });
});
