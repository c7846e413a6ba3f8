// Durations for people ("1 h 05 min" / "1 小时 5 分钟"): the numbers are cut here, the unit words live in the common
// strings (duration.*, zh and en), so an SLA countdown or an agreement's target never shows English units in Chinese.
import i18next from "i18next";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";

export type DurationKey = "s" | "min" | "hmin" | "dh";

/** The coarse units read at a glance, rounded down (a countdown never shows more time than is left): days and
 *  hours past a day, hours and minutes past an hour, minutes past a minute, else seconds. Sign is dropped. */
export function durationParts(ms: number): { key: DurationKey; values: Record<string, number | string> } {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const minutes = Math.floor(seconds / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return { key: "dh", values: { d: days, h: hours } };
  // `mm` is the minutes padded to two digits, for languages that write "1 h 05 min".
  if (hours > 0) return { key: "hmin", values: { h: hours, m: mins, mm: String(mins).padStart(2, "0") } };
  if (minutes > 0) return { key: "min", values: { n: mins } };
  return { key: "s", values: { n: seconds } };
}

/** `ms` in words of the interface language `lang` ("zh" or "en"). */
export function formatDuration(ms: number, lang: string): string {
  const { key, values } = durationParts(ms);
  return i18next.getFixedT(lang, "common")(`duration.${key}`, values);
}

/** The formatter bound to the current interface language; components re-render when it changes. */
export function useFormatDuration(): (ms: number) => string {
  const { i18n } = useTranslation();
  const lang = i18n.language;
  return useMemo(() => (ms: number) => formatDuration(ms, lang), [lang]);
}
