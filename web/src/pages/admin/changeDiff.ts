// What an admin change changed: the before/after snapshots of the change log, flattened and compared.
export interface DiffLine {
  path: string;
  before: unknown;
  after: unknown;
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, value);
    for (const [key, child] of entries) flatten(child, prefix ? `${prefix}.${key}` : key, out);
  } else if (prefix) {
    out.set(prefix, value);
  }
}

const IGNORED = new Set(["created_at"]);

/** Changed leaves (arrays compared whole), in the after-snapshot's order; a creation lists every field it set. */
export function diffChange(before: Record<string, unknown> | null, after: Record<string, unknown> | null): DiffLine[] {
  const b = new Map<string, unknown>();
  const a = new Map<string, unknown>();
  flatten(before ?? {}, "", b);
  flatten(after ?? {}, "", a);
  const paths = [...new Set([...a.keys(), ...b.keys()])].filter((p) => !IGNORED.has(p));
  return paths
    .filter((p) => JSON.stringify(b.get(p)) !== JSON.stringify(a.get(p)))
    .map((p) => ({ path: p, before: b.get(p), after: a.get(p) }));
}

export function showValue(value: unknown): string {
  if (value === undefined) return "—";
  if (value === null) return "null";
  if (Array.isArray(value)) {
    return value.length === 0 ? "[]" : value.map((v) => (typeof v === "object" ? Object.values(v as object).join(" ") : String(v))).join(", ");
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
