// A minimal JSON-over-HTTP POST client on node:http with a keep-alive agent:
// one socket per load-generator worker, reused, and as little client CPU as
// possible (the load generator shares the machine with the server).
import http from "node:http";

export interface JsonClient {
  post(path: string, body: string, headers?: Record<string, string>): Promise<{ status: number; json: unknown }>;
  close(): void;
}

export interface JsonClientOptions {
  /**
   * Send a request again (once) when a reused keep-alive socket turns out to
   * have been closed by the server just as the request went out (ECONNRESET
   * on `req.reusedSocket`): the race Node's docs describe for keep-alive
   * clients. Only for requests that are safe to repeat (e.g. placeOrder with
   * its idempotency key).
   */
  retryReusedSocketReset?: boolean;
}

export function jsonClient(baseUrl: string, maxSockets: number, options: JsonClientOptions = {}): JsonClient {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const post = (
    path: string,
    body: string,
    headers: Record<string, string>,
    retried: boolean,
  ): Promise<{ status: number; json: unknown }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path,
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(body),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
            } catch {
              reject(new Error(`HTTP ${res.statusCode}: not JSON: ${text.slice(0, 200)}`));
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (options.retryReusedSocketReset && !retried && req.reusedSocket && err.code === "ECONNRESET") {
          resolve(post(path, body, headers, true));
        } else reject(err);
      });
      req.end(body);
    });
  return {
    post(path, body, headers = {}) {
      return post(path, body, headers, false);
    },
    close() {
      agent.destroy();
    },
  };
}
