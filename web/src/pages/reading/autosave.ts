// Draft autosave. Every PUT /draft is a new report version on the server (none is overwritten), so a save happens
// only when the content differs from what was last saved, and only after the reader paused typing.
import { useCallback, useEffect, useRef, useState } from "react";

import type { ReportBody as ReportRequest } from "../../api/generated/schema";
import type { ReportVersion } from "../../api/types";

/** A report as the editor holds it: the API's report body with every field filled in. */
export type ReportBody = Required<ReportRequest>;

export const EMPTY_REPORT: ReportBody = { findings: "", impression: "", structured: {}, critical: false, critical_note: "" };

/** One string per distinct content: key order and blank structured values do not make a report different. */
export function reportKey(body: ReportBody): string {
  const structured = Object.keys(body.structured)
    .filter((k) => body.structured[k] !== "")
    .sort()
    .map((k) => [k, body.structured[k]]);
  return JSON.stringify([body.findings, body.impression, structured, body.critical, body.critical ? body.critical_note : ""]);
}

/** The autosave decision: is there anything the server does not have yet? */
export function shouldSave(current: ReportBody, lastSaved: ReportBody): boolean {
  return reportKey(current) !== reportKey(lastSaved);
}

export function bodyOf(version: ReportVersion): ReportBody {
  return {
    findings: version.findings,
    impression: version.impression,
    structured: { ...version.structured },
    critical: version.critical,
    critical_note: version.critical_note,
  };
}

export type SaveStatus = "idle" | "pending" | "saving" | "saved" | "error";

export interface Autosave {
  status: SaveStatus;
  savedAt: Date | null;
  error: unknown;
  dirty: boolean;
  /** Save now if anything changed (on blur, before submit); rejects with the server's error. */
  flush: () => Promise<void>;
}

export function useAutosave(
  value: ReportBody,
  save: (body: ReportBody) => Promise<unknown>,
  { saved, delay = 3000, enabled = true }: { saved: ReportBody; delay?: number; enabled?: boolean },
): Autosave {
  const lastSaved = useRef(saved);
  const latest = useRef(value);
  latest.current = value;
  const saveRef = useRef(save);
  saveRef.current = save;
  const inFlight = useRef<Promise<void> | null>(null);
  const [status, setStatus] = useState<SaveStatus>("idle");
  const [savedAt, setSavedAt] = useState<Date | null>(null);
  const [error, setError] = useState<unknown>(null);
  const key = reportKey(value);

  const flush = useCallback(async (): Promise<void> => {
    // One save at a time: versions must land in the order they were written.
    while (inFlight.current) await inFlight.current.catch(() => undefined);
    const body = latest.current;
    if (!shouldSave(body, lastSaved.current)) return;
    setStatus("saving");
    const attempt = (async () => {
      try {
        await saveRef.current(body);
        lastSaved.current = body;
        setSavedAt(new Date());
        setError(null);
        setStatus(shouldSave(latest.current, body) ? "pending" : "saved");
      } catch (e) {
        setError(e);
        setStatus("error");
        throw e;
      }
    })();
    inFlight.current = attempt;
    try {
      await attempt;
    } finally {
      if (inFlight.current === attempt) inFlight.current = null;
    }
  }, []);

  useEffect(() => {
    if (!enabled || !shouldSave(latest.current, lastSaved.current)) return;
    setStatus((s) => (s === "saving" ? s : "pending"));
    const timer = window.setTimeout(() => void flush().catch(() => undefined), delay);
    return () => window.clearTimeout(timer);
  }, [key, delay, enabled, flush]);

  return { status, savedAt, error, dirty: shouldSave(value, lastSaved.current), flush };
}
