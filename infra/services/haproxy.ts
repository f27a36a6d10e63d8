// A throwaway HAProxy (Debian package `haproxy`) on 127.0.0.1 and a free port,
// balancing HTTP and WebSocket traffic over Stockwire API instances as a
// production load balancer would: health checks on /ready, a dead server's
// sockets closed at once so clients reconnect to a live one, and a request
// that could not reach a server retried on another.
import http from "node:http";
import path from "node:path";
import { writeFile } from "node:fs/promises";
import { ensureCommand } from "./install.js";
import { freePort } from "./ports.js";
import { makeTempDir, run, spawnReady, type StartedService } from "./process.js";

export interface HaproxyOptions {
  /** Base URLs of the API instances (http://host:port). */
  servers: string[];
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

export interface Haproxy extends StartedService {
  /** The last lines of HAProxy's log (health-check transitions), for failure messages. */
  logTail(lines?: number): string;
}

export async function startHaproxy(opts: HaproxyOptions): Promise<Haproxy> {
  const bin = await ensureCommand("haproxy", "haproxy", opts.log ?? console.log);
  const dir = await makeTempDir("stockwire-haproxy-");
  try {
    const port = await freePort();
    const cfg = path.join(dir.path, "haproxy.cfg");
    await writeFile(cfg, haproxyConfig(port, opts.servers));
    // `haproxy -c`: a config error is reported in HAProxy's own words, not as a start-up timeout.
    await run(bin, ["-c", "-q", "-f", cfg]);
    const { proc } = await spawnReady(
      ["haproxy", bin, ["-db", "-f", cfg], { cwd: dir.path, logFile: path.join(dir.path, "haproxy.log"), graceMs: 5_000 }],
      {
        what: `HAProxy on 127.0.0.1:${port}`,
        timeoutMs: opts.readyTimeoutMs ?? 15_000,
        probe: () => statusOf(`http://127.0.0.1:${port}/health`).then((s) => (s === 200 ? s : undefined)),
      },
    );
    return {
      url: `http://127.0.0.1:${port}`,
      describe: `HAProxy (pid ${proc.pid}, ${opts.servers.length} servers, dir ${dir.path})`,
      logTail: (lines) => proc.logTail(lines),
      async stop() {
        await proc.stop();
        await dir.remove();
      },
    };
  } catch (err) {
    await dir.remove();
    throw err;
  }
}

/**
 * leastconn: WebSockets live long, so new ones go to the server holding
 * fewest. A server is marked down after two failed /ready checks 1 s apart
 * (or at once, when connecting to it fails); `shutdown-sessions` then
 * closes the sockets still tunnelled to it. `retry-on conn-failure` resends a
 * request only when it never reached a server, so a mutation is never sent
 * twice by the balancer (clients retry with their idempotency key).
 */
export function haproxyConfig(port: number, servers: string[]): string {
  const lines = [
    "global",
    "  maxconn 4000",
    "  log stdout format raw local0",
    "defaults",
    "  mode http",
    "  log global",
    "  option log-health-checks",
    "  option forwardfor",
    "  option redispatch",
    "  retries 3",
    "  retry-on conn-failure",
    "  timeout connect 1s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout tunnel 1h",
    "  timeout http-keep-alive 10s",
    "frontend stockwire",
    `  bind 127.0.0.1:${port}`,
    "  default_backend api",
    "backend api",
    "  balance leastconn",
    "  option httpchk",
    "  http-check send meth GET uri /ready ver HTTP/1.1 hdr host localhost",
    "  http-check expect status 200",
    // /ready asks the instance's backends (a Kafka round trip among them): up to 2 s on a busy machine.
    "  timeout check 2s",
    "  default-server inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down on-marked-down shutdown-sessions",
    ...servers.map((s, i) => `  server api${i + 1} ${new URL(s).host} check`),
  ];
  return `${lines.join("\n")}\n`;
}

function statusOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(2_000, () => req.destroy(new Error("no reply")));
    req.on("error", reject);
  });
}
