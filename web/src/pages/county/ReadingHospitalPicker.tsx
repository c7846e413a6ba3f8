// The referral form's reading-hospital picker: where this case may be read (GET /api/hospitals/{id}/reading-choices
// for the form's modality), "automatic" by default. Naming a hospital is the submission's `reading_hospital_id`:
// an in-house modality goes out to a partner hospital, or stays here explicitly.
import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import type { UseFormRegisterReturn } from "react-hook-form";
import { useTranslation } from "react-i18next";

import { api, ok } from "../../api/client";
import type { components } from "../../api/generated/schema";

export type ReadingChoice = components["schemas"]["ReadingChoice"];

const MODALITY = /^[A-Z]{2,16}$/;

/** One option's words: the hospital, in-house or its service modes, and when it reads the case if not always. */
export function useChoiceLabel(): (c: ReadingChoice) => string {
  const { t } = useTranslation("county");
  return (c) => {
    if (c.in_house) return t("readingPicker.inHouseChoice", { name: c.hospital_name });
    const modes = c.service_modes.map((m) => t(`readingPicker.mode.${m}`)).join(", ");
    const when = c.when.filter((w) => w !== "always").map((w) => t(`readingPicker.when.${w}`));
    return when.length
      ? t("readingPicker.choiceWhen", { name: c.hospital_name, modes, when: when.join(t("readingPicker.or")) })
      : t("readingPicker.choice", { name: c.hospital_name, modes });
  };
}

export function ReadingHospitalPicker({
  hospitalId,
  modality,
  value,
  field,
  onStale,
}: {
  hospitalId: string | null;
  modality: string;
  value: string;
  field: UseFormRegisterReturn;
  onStale: () => void; // the chosen hospital is no choice for the modality now typed: back to automatic
}) {
  const { t } = useTranslation("county");
  const label = useChoiceLabel();
  const code = modality.trim().toUpperCase();
  const usable = hospitalId !== null && MODALITY.test(code);
  const query = useQuery({
    queryKey: ["reading-choices", hospitalId, code],
    queryFn: () =>
      ok(
        api.GET("/api/hospitals/{hospital_id}/reading-choices", {
          params: { path: { hospital_id: hospitalId ?? "" }, query: { modality: code } },
        }),
      ),
    enabled: usable,
    staleTime: 60_000,
  });
  const choices = usable ? (query.data?.choices ?? []) : [];
  const stale = value !== "" && query.isSuccess && !choices.some((c) => c.hospital_id === value);
  useEffect(() => {
    if (stale || (value !== "" && !usable)) onStale();
  }, [stale, usable, value, onStale]);

  const inHouse = usable && query.data?.automatic_in_house === true;
  const help = !usable
    ? t("readingPicker.helpNoModality")
    : query.error
      ? t("readingPicker.helpError")
      : inHouse
        ? t("readingPicker.helpInHouse", { modality: code })
        : t("readingPicker.help");
  return (
    <div className="field reading-picker">
      <label htmlFor="referral-reading-hospital">{t("readingPicker.label")}</label>
      <select id="referral-reading-hospital" {...field} aria-describedby="reading-picker-help">
        <option value="">{inHouse ? t("readingPicker.automaticInHouse") : t("readingPicker.automatic")}</option>
        {choices.map((c) => (
          <option key={c.hospital_id} value={c.hospital_id}>
            {label(c)}
          </option>
        ))}
      </select>
      <p id="reading-picker-help" className="muted small">
        {help}
      </p>
    </div>
  );
}
