// GET /demo/session: the demo customer's and admin's tokens. Only servers in
// demo mode (STOCKWIRE_DEMO=on) have it; elsewhere the page is read-only.
export interface DemoShopper {
  id: string;
  name: string;
  token: string;
}

export interface DemoSession {
  customer: DemoShopper;
  admin: { token: string };
  /** The seed's other customers: the flash sale's crowd (older servers send none). */
  shoppers?: DemoShopper[];
}

export type SessionResult = { kind: "demo"; session: DemoSession } | { kind: "read-only"; reason: "off" | "error"; detail?: string };

export async function loadSession(): Promise<SessionResult> {
  try {
    const res = await fetch("/demo/session", { headers: { accept: "application/json" } });
    if (res.status === 404) return { kind: "read-only", reason: "off" };
    if (!res.ok) return { kind: "read-only", reason: "error", detail: `HTTP ${res.status}` };
    return { kind: "demo", session: (await res.json()) as DemoSession };
  } catch (err) {
    return { kind: "read-only", reason: "error", detail: (err as Error).message };
  }
}
