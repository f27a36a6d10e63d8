// GraphiQL used to be a 9 MB page rendered per request, uncompressed and
// uncacheable, in production too, with no rate limit. Now: a small page, the
// bundle as static assets (compressed, ETag, immutable), every answer charged
// to the client's cost bucket, and off with NODE_ENV=production unless asked.
import { gunzipSync, brotliDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "../support/api.js";

let api: Api;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

const page = (target: Api = api, headers: Record<string, string> = {}) =>
  target.fetch("/graphql", { headers: { accept: "text/html", ...headers } });
const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/graphiql\/[^"]+)"/g)].map((m) => m[1]!);

describe("GraphiQL", () => {
  it("is a page of a few kB that loads its bundle from hashed, cacheable assets", async () => {
    const res = await page();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html.length).toBeLessThan(20_000);
    expect(html).toMatch(/<title>Stockwire GraphiQL<\/title>/);
    expect(html).toMatch(/YogaGraphiQL\.renderYogaGraphiQL\(/);
    expect(assetsOf(html)).toHaveLength(3); // icon, stylesheet, script

    const js = assetsOf(html).find((a) => a.endsWith(".js"))!;
    const plain = await api.fetch(js);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toMatch(/^application\/javascript/);
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(plain.headers.get("vary")).toBe("Accept-Encoding");
    const bytes = Buffer.from(await plain.arrayBuffer());
    expect(bytes.toString()).toContain("YogaGraphiQL");

    // Compressed as asked (fetch in process does not decode: the bytes are as sent).
    const br = await api.fetch(js, { headers: { "accept-encoding": "gzip, deflate, br" } });
    expect(br.headers.get("content-encoding")).toBe("br");
    const brBytes = Buffer.from(await br.arrayBuffer());
    expect(brBytes.length).toBeLessThan(bytes.length / 3);
    expect(brotliDecompressSync(brBytes).equals(bytes)).toBe(true);
    const gz = await api.fetch(js, { headers: { "accept-encoding": "gzip" } });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).equals(bytes)).toBe(true);

    // Revalidation: 304 with no body.
    const etag = br.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{16}-br"$/);
    const again = await api.fetch(js, { headers: { "accept-encoding": "br", "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    expect((await api.fetch("/graphiql/nope.js")).status).toBe(404);
  });

  it("charges every download to the client's rate limit: repeated uncached downloads get 429", async () => {
    const small = await startApi({ RATE_LIMIT_ANONYMOUS_BUCKET: "3000", RATE_LIMIT_ANONYMOUS_RESTORE: "1" });
    try {
      const js = assetsOf(await (await page(small)).text()).find((a) => a.endsWith(".js"))!;
      const statuses: number[] = [];
      for (let i = 0; i < 30 && !statuses.includes(429); i++) {
        const res = await small.fetch(js, { headers: { "accept-encoding": "br" } });
        await res.arrayBuffer();
        statuses.push(res.status);
        if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      }
      // About 200 points per compressed download: the 3,000-point bucket lets through no more than 15.
      expect(statuses.at(-1)).toBe(429);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    } finally {
      await small.close();
    }
  });

  it("is off with NODE_ENV=production, and on again with STOCKWIRE_GRAPHIQL=on", async () => {
    const production = await startApi({ NODE_ENV: "production", STOCKWIRE_DEMO: "off" });
    const opted = await startApi({ NODE_ENV: "production", STOCKWIRE_DEMO: "off", STOCKWIRE_GRAPHIQL: "on" });
    try {
      const off = await page(production);
      expect(off.headers.get("content-type") ?? "").not.toMatch(/text\/html/);
      expect(await off.text()).not.toMatch(/GraphiQL/);
      expect((await production.fetch(assetsOf(await (await page()).text())[0]!)).status).toBe(404);
      const on = await page(opted);
      expect(on.status).toBe(200);
      expect(await on.text()).toMatch(/<title>Stockwire GraphiQL<\/title>/);
    } finally {
      await production.close();
      await opted.close();
    }
  });
});
