// The worklist's filters and sort live in the URL (a reload or a shared link shows the same list).
import type { WorklistFilter } from "../../api/hooks";
import { ALL_STATES, PRIORITIES, type Priority, type Referral, type ReferralState } from "../../api/types";

export const MODALITIES = ["CT", "MR", "DX", "CR", "US", "MG", "NM", "PT", "XA", "RF"];
export const SORT_KEYS = ["sla", "priority", "state", "study", "hospital", "submitted", "assignee"] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = "asc" | "desc";

export interface WorklistView {
  state: ReferralState[];
  priority: Priority | "";
  modality: string;
  hospital_id: string;
  sort: SortKey;
  dir: SortDir;
}

export const DEFAULT_VIEW: WorklistView = { state: [], priority: "", modality: "", hospital_id: "", sort: "sla", dir: "asc" };

export function viewFromParams(params: URLSearchParams): WorklistView {
  const states = params.getAll("state").filter((s): s is ReferralState => (ALL_STATES as string[]).includes(s));
  const priority = params.get("priority") ?? "";
  const sort = params.get("sort") ?? "";
  const modality = (params.get("modality") ?? "").toUpperCase();
  return {
    state: ALL_STATES.filter((s) => states.includes(s)),
    priority: (PRIORITIES as string[]).includes(priority) ? (priority as Priority) : "",
    modality: /^[A-Z]{2,16}$/.test(modality) ? modality : "",
    hospital_id: params.get("hospital") ?? "",
    sort: (SORT_KEYS as readonly string[]).includes(sort) ? (sort as SortKey) : "sla",
    dir: params.get("dir") === "desc" ? "desc" : "asc",
  };
}

/** Only what differs from the default goes into the URL. */
export function paramsFromView(view: WorklistView): URLSearchParams {
  const params = new URLSearchParams();
  view.state.forEach((s) => params.append("state", s));
  if (view.priority) params.set("priority", view.priority);
  if (view.modality) params.set("modality", view.modality);
  if (view.hospital_id) params.set("hospital", view.hospital_id);
  if (view.sort !== "sla") params.set("sort", view.sort);
  if (view.dir !== "asc") params.set("dir", view.dir);
  return params;
}

/** What the API filters on (sorting by column is done on the loaded rows). */
export function apiFilter(view: WorklistView): WorklistFilter {
  const filter: WorklistFilter = {};
  if (view.state.length) filter.state = view.state;
  if (view.priority) filter.priority = view.priority;
  if (view.modality) filter.modality = view.modality;
  if (view.hospital_id) filter.hospital_id = view.hospital_id;
  return filter;
}

const PRIORITY_RANK: Record<Priority, number> = { stat: 0, urgent: 1, routine: 2 };

/** Rows in the chosen order; "sla" keeps the server's order (most urgent SLA first). */
export function sortRows(
  rows: Referral[],
  sort: SortKey,
  dir: SortDir,
  hospitalName: (id: string) => string,
): Referral[] {
  if (sort === "sla") return dir === "asc" ? rows : [...rows].reverse();
  const value = (r: Referral): string | number => {
    switch (sort) {
      case "priority":
        return PRIORITY_RANK[r.priority];
      case "state":
        return ALL_STATES.indexOf(r.state);
      case "study":
        return `${r.modality} ${r.body_part}`;
      case "hospital":
        return hospitalName(r.requesting_hospital_id);
      case "submitted":
        return r.submitted_at;
      case "assignee":
        return r.reader_id ?? r.offered_to ?? "";
    }
  };
  const sign = dir === "asc" ? 1 : -1;
  // A stable sort on top of the server's order: ties stay most urgent first.
  return rows
    .map((r, i) => ({ r, i, v: value(r) }))
    .sort((a, b) => (a.v < b.v ? -sign : a.v > b.v ? sign : a.i - b.i))
    .map((x) => x.r);
}
