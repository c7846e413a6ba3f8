// zh (default: the alliance works in Chinese) and en. Each area of the app keeps its strings in its own file
// (i18n/<area>.ts exporting {en, zh}); `zh` is typed from `en` so a missing translation fails the type check.
import i18n, { type ResourceLanguage } from "i18next";
import { initReactI18next } from "react-i18next";

import admin from "./admin";
import common from "./common";
import consult from "./consult";
import coordination from "./coordination";
import county from "./county";
import film from "./film";
import lecture from "./lecture";
import notices from "./notices";
import patient from "./patient";
import reading from "./reading";
import search from "./search";
import teaching from "./teaching";

export const LANGUAGES = ["zh", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = "yilian.lang";

const areas = { common, consult, county, reading, coordination, patient, admin, notices, teaching, search, film, lecture };

function bundle(lang: Language): ResourceLanguage {
  return Object.fromEntries(Object.entries(areas).map(([ns, strings]) => [ns, strings[lang]]));
}

export function initialLanguage(): Language {
  const saved = window.localStorage.getItem(STORAGE_KEY);
  if (saved === "zh" || saved === "en") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function setLanguage(lang: Language): void {
  window.localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  void i18n.changeLanguage(lang);
}

void i18n.use(initReactI18next).init({
  resources: { zh: bundle("zh"), en: bundle("en") },
  lng: initialLanguage(),
  fallbackLng: "en",
  defaultNS: "common",
  ns: Object.keys(areas),
  interpolation: { escapeValue: false },
});
document.documentElement.lang = i18n.language === "zh" ? "zh-CN" : "en";

export default i18n;
