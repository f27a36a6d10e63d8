// Serves the built storefront demo (web-demo/dist, built by `npm start` /
// `npm run demo:build`) at `/`. Only GET/HEAD of `/` and the files Vite wrote;
// everything else falls through to Yoga (GraphiQL and the API at /graphql).
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "graphql-yoga";

export const WEB_DEMO_DIST = fileURLToPath(new URL("../../web-demo/dist", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json",
  ".map": "application/json",
};

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Stockwire</title>
<p>The storefront demo is not built: run <code>npm run demo:build</code> (<code>npm start</code> does it for you).
GraphiQL is at <a href="/graphql">/graphql</a>.</p></html>`;

export function useWebDemo(dist = WEB_DEMO_DIST): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (request.method !== "GET" && request.method !== "HEAD") return;
      const file = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
      if (file !== "index.html" && !file.startsWith("assets/") && file !== "favicon.svg") return;
      let full: string;
      try {
        full = path.resolve(dist, decodeURIComponent(file));
      } catch {
        return; // malformed %-escape
      }
      if (!full.startsWith(dist + path.sep)) return;
      const isFile = await stat(full).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!isFile) {
        if (file === "index.html")
          endResponse(new fetchAPI.Response(NOT_BUILT, { status: 503, headers: { "content-type": TYPES[".html"]! } }));
        return;
      }
      const body = request.method === "HEAD" ? null : await readFile(full);
      endResponse(
        new fetchAPI.Response(body, {
          headers: {
            "content-type": TYPES[path.extname(full)] ?? "application/octet-stream",
            // Vite puts a content hash in every asset name; index.html must be re-read.
            "cache-control": file.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
          },
        }),
      );
    },
  };
}
