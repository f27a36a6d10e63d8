import { describe, expect, it } from "vitest";
import { memoryWriteMarks } from "../../src/db/write-marks.js";

describe("write marks (read-your-writes positions), in process", () => {
  it("keeps the highest position per writer, and forgets it when it no longer matters", async () => {
    let now = 1_000;
    const marks = memoryWriteMarks(() => now);
    await marks.set("customer:a", "0/3000100", 500);
    // A later-arriving but earlier write does not lower it (hex compared as numbers: 0/3000100 > 0/FFFFF).
    await marks.set("customer:a", "0/FFFFF", 500);
    expect(await marks.get("customer:a")).toBe("0/3000100");
    await marks.set("customer:a", "1/0", 500);
    expect(await marks.get("customer:a")).toBe("1/0");
    expect(await marks.get("customer:b")).toBeUndefined();
    now += 501;
    expect(await marks.get("customer:a")).toBeUndefined();
  });
});
