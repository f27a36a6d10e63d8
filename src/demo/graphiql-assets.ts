// GraphiQL's page without its 9 MB: @graphql-yoga/render-graphiql inlines its
// whole bundle (JS, CSS, Monaco workers, favicon) into every page it renders,
// uncompressed and uncacheable. Here its rendered page is split once into
// static assets under /graphiql/ (named by content hash, compressed once per
// encoding with node:zlib on the thread pool and kept in memory, with ETag and
// an immutable Cache-Control) and a page of a few kB that only carries the
// per-visit options. Split by markers in the package's public output rather
// than by importing its unexported modules: a layout change fails loudly here.
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { GraphiQLOptions } from "graphql-yoga";

export const ASSET_PREFIX = "/graphiql/";

type Encoding = "br" | "gzip" | "identity";

export interface Asset {
  type: string;
  hash: string;
  /** The bytes in one encoding (compressed on first use, then kept). */
  body(encoding: Encoding): Promise<Uint8Array<ArrayBuffer>>;
}

export interface GraphiQLBundle {
  /** path (under ASSET_PREFIX) -> asset */
  assets: Map<string, Asset>;
  page(options: GraphiQLOptions): string;
}

const compressors: Record<Exclude<Encoding, "identity">, (b: Uint8Array<ArrayBuffer>) => Promise<Uint8Array<ArrayBuffer>>> = {
  // Quality 9: a fifth of the bytes of quality 11's output more, in a twentieth of its CPU.
  br: (b) => promisify(brotliCompress)(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }),
  gzip: (b) => promisify(gzip)(b, { level: 9 }),
};

function asset(type: string, bytes: Uint8Array<ArrayBuffer>): Asset {
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const encoded = new Map<Encoding, Promise<Uint8Array<ArrayBuffer>>>([["identity", Promise.resolve(bytes)]]);
  return {
    type,
    hash,
    body(encoding) {
      let body = encoded.get(encoding);
      if (!body) {
        body = compressors[encoding as Exclude<Encoding, "identity">](bytes);
        encoded.set(encoding, body);
      }
      return body;
    },
  };
}

/** The text between the first `start` at or after `from` and the next `end` (the last one with `last`). */
function between(html: string, start: string, end: string, from = 0, last = false): { text: string; next: number } {
  const a = html.indexOf(start, from);
  const b = a < 0 ? -1 : last ? html.lastIndexOf(end) : html.indexOf(end, a + start.length);
  if (a < 0 || b < 0) throw new Error(`@graphql-yoga/render-graphiql: its page no longer has ${start}…${end}; update graphiql-assets.ts`);
  return { text: html.slice(a + start.length, b), next: b + end.length };
}

/** `<` escaped: options (a default tab's query) may contain `</script>`. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");
const htmlText = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export async function loadGraphiQLBundle(): Promise<GraphiQLBundle> {
  const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
  const html = renderGraphiQL({});
  const icon = between(html, '<link rel="icon" href="', '"');
  const css = between(html, "<style>", "</style>", icon.next);
  // The workers and the bundle; the call that renders with this page's options stays in the page.
  const script = between(html, "<script>", "YogaGraphiQL.renderYogaGraphiQL(", css.next, true);
  const iconUri = /^data:([^;,]+);base64,(.*)$/s.exec(icon.text);
  if (!iconUri) throw new Error("@graphql-yoga/render-graphiql: its favicon is no longer a base64 data URI; update graphiql-assets.ts");

  const files = {
    js: asset("application/javascript; charset=utf-8", Buffer.from(script.text)),
    css: asset("text/css; charset=utf-8", Buffer.from(css.text)),
    icon: asset(iconUri[1]!, Buffer.from(iconUri[2]!, "base64")),
  };
  const nameOf = (kind: keyof typeof files, ext: string) => `${kind}-${files[kind].hash}.${ext}`;
  const names = { js: nameOf("js", "js"), css: nameOf("css", "css"), icon: nameOf("icon", "ico") };
  return {
    assets: new Map([
      [names.js, files.js],
      [names.css, files.css],
      [names.icon, files.icon],
    ]),
    page: (options) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${htmlText(options.title ?? "GraphiQL")}</title>
    <link rel="icon" href="${ASSET_PREFIX}${names.icon}" />
    <link rel="stylesheet" href="${ASSET_PREFIX}${names.css}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script src="${ASSET_PREFIX}${names.js}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(window.document.querySelector("#root"), ${scriptJson(options)});
    </script>
  </body>
</html>
`,
  };
}

/** The encoding to answer with, from Accept-Encoding (brotli first; q=0 refuses one). */
export function pickEncoding(acceptEncoding: string | null): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const ok = (name: string) => (accepted.get(name) ?? accepted.get("*") ?? 0) > 0;
  return ok("br") ? "br" : ok("gzip") ? "gzip" : "identity";
}
