// A notice in the reader's language: its kind's words (notices.ts) filled with its parameters, the priority in that
// language too. A notice recorded before notices had parameters keeps the English text it was written with.
import type { TFunction } from "i18next";
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { formatDate } from "./format";

export interface NoticeLike {
  kind: string;
  params: Record<string, string>;
  title?: string | null;
  body?: string | null;
}

export interface NoticeText {
  title: string;
  body: string;
}

/** Defect reason codes (domain/quality.py) in the interface's words, as a list. */
export function defectList(t: TFunction, reasons: string[]): string {
  return reasons
    .filter(Boolean)
    .map((r) => t(`common:defect.${r}`, { defaultValue: r }))
    .join(t("common:listSeparator"));
}

export function noticeText(t: TFunction, n: NoticeLike, lang = "zh-CN"): NoticeText {
  if (n.title != null && Object.keys(n.params).length === 0) return { title: n.title, body: n.body ?? "" };
  const params: Record<string, string> = { ...n.params };
  if (params.priority) params.priority = t(`common:priority.${params.priority}`, { defaultValue: params.priority });
  // A retake's defect reasons travel as comma-joined codes: each in the reader's words.
  if (params.reasons) params.reasons = defectList(t, params.reasons.split(","));
  // A consult's start and a link's lock travel as ISO instants: shown in the interface's language.
  if (params.starts_at) params.starts_at = formatDate(params.starts_at, lang);
  if (params.until) params.until = formatDate(params.until, lang);
  return {
    title: t(`notices:${n.kind}.title`, { ...params, defaultValue: n.kind }),
    body: t(`notices:${n.kind}.body`, { ...params, defaultValue: "" }),
  };
}

/** `noticeText` in the current language (re-rendered when it changes). */
export function useNoticeText(): (n: NoticeLike) => NoticeText {
  const { t, i18n } = useTranslation();
  return useCallback((n: NoticeLike) => noticeText(t, n, i18n.language), [t, i18n.language]);
}
