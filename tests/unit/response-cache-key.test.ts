// The response cache's key (schema/response-cache/use-response-cache.ts): the plugin builds one for
// every request, uploads included, so a file in the variables must count by its name and size, not
// be stringified byte by byte (Yoga's File, @whatwg-node's ponyfill, gives its bytes as an array).
import { File as YogaFile } from "@whatwg-node/fetch";
import { describe, expect, it } from "vitest";
import { responseCacheKey } from "../../src/schema/response-cache/use-response-cache.js";

const documentString = "mutation($f: File!) { startBulkImport(file: $f, mode: UPSERT) { __typename } }";
const keyOf = (variableValues: unknown) => responseCacheKey({ documentString, operationName: null, variableValues });

describe("responseCacheKey", () => {
  it.each([
    ["Yoga's File (the ponyfill)", YogaFile],
    ["the native File", File],
  ])("counts %s by its name and size, not its bytes", (_name, FileClass) => {
    const bytes = (fill: number, size = 1 << 20) => new Uint8Array(size).fill(fill);
    const a = keyOf({ f: new FileClass([bytes(1)], "catalogue.csv") });
    expect(keyOf({ f: new FileClass([bytes(2)], "catalogue.csv") })).toBe(a);
    expect(keyOf({ f: new FileClass([bytes(1, (1 << 20) + 1)], "catalogue.csv") })).not.toBe(a);
    expect(keyOf({ f: new FileClass([bytes(1)], "other.csv") })).not.toBe(a);
  });

  it("tells other variables, documents and operation names apart", () => {
    const a = keyOf({ id: "1" });
    expect(keyOf({ id: "1" })).toBe(a);
    expect(keyOf({ id: "2" })).not.toBe(a);
    expect(responseCacheKey({ documentString: `${documentString} `, variableValues: { id: "1" } })).not.toBe(a);
    expect(responseCacheKey({ documentString, operationName: "Other", variableValues: { id: "1" } })).not.toBe(a);
  });
});
