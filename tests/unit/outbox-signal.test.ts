// The outbox signal's throttle (pure timing logic, fake timers): relays in this
// process hear every commit at once; other processes get a NOTIFY at once for
// the first commit of a quiet moment and one more at the end of the window for
// whatever committed inside it, so no commit waits longer than the window;
// none while a relay of this process listens (it speaks for them).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createOutboxSignal } from "../../src/events/outbox-signal.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("outbox signal", () => {
  it("an isolated commit notifies at once; a burst sends one more NOTIFY when the window ends, not one per commit", () => {
    const notify = vi.fn(async () => {});
    const signal = createOutboxSignal(notify, 2);
    const local = vi.fn();
    signal.onCommitted(local);

    signal.committed();
    expect(notify).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 10; i++) signal.committed();
    expect(local).toHaveBeenCalledTimes(11); // this process's relays: every commit, at once
    expect(notify).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2);
    expect(notify).toHaveBeenCalledTimes(2); // the burst's tail, at the end of the window
    vi.advanceTimersByTime(10);
    expect(notify).toHaveBeenCalledTimes(2); // nothing more without commits

    // A quiet moment later: at once again.
    signal.committed();
    expect(notify).toHaveBeenCalledTimes(3);
  });

  it("a failing NOTIFY is swallowed (relays also poll) and the next commit still notifies", async () => {
    const notify = vi.fn(async () => {
      throw new Error("database unreachable");
    });
    const signal = createOutboxSignal(notify, 2);
    signal.committed();
    await vi.advanceTimersByTimeAsync(5);
    signal.committed();
    expect(notify).toHaveBeenCalledTimes(2);
  });

  it("wake() (another thread of this process committed) wakes this thread's relays and sends no NOTIFY", () => {
    const notify = vi.fn(async () => {});
    const signal = createOutboxSignal(notify, 2);
    const local = vi.fn();
    signal.onCommitted(local);
    signal.wake();
    vi.advanceTimersByTime(10);
    expect(local).toHaveBeenCalledTimes(1);
    expect(notify).not.toHaveBeenCalled();
  });

  it("while a relay of this process listens, commits send no NOTIFY (the relay speaks for them); once it leaves, they do again", () => {
    const notify = vi.fn(async () => {});
    const signal = createOutboxSignal(notify, 2);
    const relay = vi.fn();
    const leave = signal.relayHere(relay);
    for (let i = 0; i < 3; i++) signal.committed();
    vi.advanceTimersByTime(10);
    expect(relay).toHaveBeenCalledTimes(3);
    expect(notify).not.toHaveBeenCalled();

    leave();
    leave(); // twice is once
    signal.committed();
    expect(notify).toHaveBeenCalledTimes(1);
    expect(relay).toHaveBeenCalledTimes(3);
  });
});
