// viewerReader remembers verified tokens, but never past their expiry and never a refused one.
import { afterEach, describe, expect, it, vi } from "vitest";
import { signToken, viewerReader } from "../../src/auth/tokens.js";
import { UnauthenticatedError } from "../../src/errors/domain-errors.js";

const SECRET = "viewer-reader-test-secret-0123456789abcdef";

afterEach(() => {
  vi.useRealTimers();
});

describe("viewerReader", () => {
  it("answers a repeated token from memory until it expires, then refuses it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-12-02T06:00:00Z"));
    const read = viewerReader(SECRET);
    const header = `Bearer ${await signToken({ role: "admin" }, SECRET)}`;
    const first = await read(header);
    expect(first).toMatchObject({ kind: "admin" });
    expect(await read(header)).toBe(first); // the remembered viewer, not a new verification
    vi.setSystemTime(first.kind === "admin" ? first.expiresAt! + 1000 : 0);
    await expect(read(header)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it("does not remember refused tokens or mistake another secret's token for a valid one", async () => {
    const read = viewerReader(SECRET);
    const forged = `Bearer ${await signToken({ role: "admin" }, "another-secret-another-secret-0123456789")}`;
    await expect(read(forged)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(read(forged)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(await read(undefined)).toEqual({ kind: "anonymous" });
  });
});
