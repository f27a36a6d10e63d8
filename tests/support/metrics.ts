// GET /metrics as a test reads it: the Prometheus text format parsed into
// samples (a few lines of parsing: the format is line-based and our values
// are plain numbers), and sums over the series that match some labels.

export interface Scrape {
  text: string;
  /** Every sample: metric name, labels, value. */
  samples: { name: string; labels: Record<string, string>; value: number }[];
  /** Metric families from the `# TYPE` lines: name -> type. */
  types: Map<string, string>;
  /** The sum over the samples of `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
}

export function parseMetrics(text: string): Scrape {
  const samples: Scrape["samples"] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return {
    text,
    samples,
    types,
    value: (name, labels = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0),
  };
}

/** GET `${base}/metrics`, parsed; fails on anything but 200. */
export async function scrape(base: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${base}/metrics: ${res.status} ${text}`);
  return parseMetrics(text);
}
