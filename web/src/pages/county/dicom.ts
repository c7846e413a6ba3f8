// Reading the archive's QIDO-RS answers (DICOM JSON) into what the referral form needs.
import { dicomJson } from "../../api/client";

type DicomValue = string | number | { Alphabetic?: string; Ideographic?: string };
export type DicomJson = Record<string, { vr: string; Value?: DicomValue[] } | undefined>;

export interface StudyRow {
  studyInstanceUid: string;
  patientId: string;
  patientName: string;
  birthDate: string; // YYYY-MM-DD, or "" when the header has none
  sex: "M" | "F" | "O" | "";
  modalities: string[];
  description: string;
  studyDate: string; // YYYY-MM-DD or ""
}

function values(row: DicomJson, tag: string): DicomValue[] {
  return row[tag]?.Value ?? [];
}

function text(row: DicomJson, tag: string): string {
  const first = values(row, tag)[0];
  return first === undefined || typeof first === "object" ? "" : String(first);
}

/** A person name for people: "李四 Li Si" from Ideographic "李^四" and Alphabetic "Li^Si". */
export function personName(row: DicomJson, tag: string): string {
  const first = values(row, tag)[0];
  if (!first || typeof first !== "object") return "";
  // Chinese names are written without spaces between family and given name; romanised ones with.
  const parts = (s?: string) => (s ?? "").split("^").filter(Boolean);
  return [parts(first.Ideographic).join(""), parts(first.Alphabetic).join(" ")].filter(Boolean).join(" ");
}

/** DICOM DA (YYYYMMDD) to an ISO date; anything else to "". */
export function isoDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : "";
}

export function studyRow(row: DicomJson): StudyRow {
  const sex = text(row, "00100040").toUpperCase();
  return {
    studyInstanceUid: text(row, "0020000D"),
    patientId: text(row, "00100020"),
    patientName: personName(row, "00100010"),
    birthDate: isoDate(text(row, "00100030")),
    sex: sex === "M" || sex === "F" || sex === "O" ? sex : "",
    modalities: values(row, "00080061").map(String),
    description: text(row, "00081030"),
    studyDate: isoDate(text(row, "00080020")),
  };
}

async function qido(path: string, query: Record<string, string | number>): Promise<DicomJson[]> {
  return (await dicomJson(path, query)) as DicomJson[];
}

export async function recentStudies(): Promise<StudyRow[]> {
  return (await qido("/dicomweb/studies", { limit: 50, includefield: "all" })).map(studyRow);
}

export async function findStudy(uid: string): Promise<StudyRow | null> {
  const rows = await qido("/dicomweb/studies", { StudyInstanceUID: uid, includefield: "all" });
  return rows.length ? studyRow(rows[0]) : null;
}

/** The body part examined of the study's first series that names one. */
export async function studyBodyPart(uid: string): Promise<string> {
  const series = await qido(`/dicomweb/studies/${encodeURIComponent(uid)}/series`, { includefield: "00180015" });
  for (const s of series) {
    const part = text(s, "00180015");
    if (part) return part;
  }
  return "";
}
