// Dates and times in the interface's language (zh-CN by default, or English), never the browser's: a Chinese
// interface on an English browser must not show "11/23/2026, 8:05:03 PM". Every date on screen goes through here.
import { useMemo } from "react";
import { useTranslation } from "react-i18next";

/** The locale for an interface language: zh → zh-CN; English as en-GB (day before month, 24-hour clock). */
export function localeOf(lang: string): string {
  return lang.toLowerCase().startsWith("zh") ? "zh-CN" : "en-GB";
}

/** An ISO string from the API, epoch milliseconds, or a Date; empty values print as a dash. */
export type When = string | number | Date | null | undefined;

const STYLES = {
  /** 2026/11/23 20:05 · 23/11/2026, 20:05 */
  dateTime: { dateStyle: "short", timeStyle: "short" },
  /** 2026/11/23 20:05:03 · 23/11/2026, 20:05:03: records (audit, change log) where seconds order events */
  dateTimeSeconds: { dateStyle: "short", timeStyle: "medium" },
  /** 2026/11/23 · 23/11/2026 */
  date: { dateStyle: "short" },
  /** 20:05:03 */
  time: { timeStyle: "medium" },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

export type DateStyle = keyof typeof STYLES;

// Intl formatters are costly to build and a worklist formats hundreds of dates: one per locale, style and zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(lang: string, style: DateStyle, timeZone?: string): Intl.DateTimeFormat {
  const locale = localeOf(lang);
  const key = `${locale}|${style}|${timeZone ?? ""}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...STYLES[style], timeZone });
    formatters.set(key, f);
  }
  return f;
}

/** `value` in `lang` and `style`; `timeZone` only for tests and fixed displays (default: the browser's zone). */
export function formatDate(value: When, lang: string, style: DateStyle = "dateTime", timeZone?: string): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return formatter(lang, style, timeZone).format(date);
}

/** Date and time to the minute, the usual way to show when something happened. */
export function formatDateTime(value: When, lang: string): string {
  return formatDate(value, lang, "dateTime");
}

/** The formatter bound to the current interface language; components re-render when it changes. */
export function useFormatDate(): (value: When, style?: DateStyle) => string {
  const { i18n } = useTranslation();
  const lang = i18n.language;
  return useMemo(() => (value: When, style: DateStyle = "dateTime") => formatDate(value, lang, style), [lang]);
}
