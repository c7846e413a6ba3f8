// The dashboard's period: two local days (inclusive) and quick presets.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { lastDays } from "./dashboardData";

export interface DayRange {
  from: string;
  to: string;
}

const PRESETS = [7, 30, 90] as const;

export function DateRangePicker({ value, onChange }: { value: DayRange; onChange: (range: DayRange) => void }) {
  const { t } = useTranslation("coordination");
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const invalid = !draft.from || !draft.to || draft.from > draft.to;

  function edit(next: DayRange) {
    setDraft(next);
    // Apply as soon as the range makes sense; a half-typed date must not fire a failing query.
    if (next.from && next.to && next.from <= next.to) onChange(next);
  }

  return (
    <div className="filters date-range" role="group" aria-label={t("range.label")}>
      <label>
        {t("range.from")}
        <input type="date" value={draft.from} max={draft.to || undefined} onChange={(e) => edit({ ...draft, from: e.target.value })} />
      </label>
      <label>
        {t("range.to")}
        <input type="date" value={draft.to} min={draft.from || undefined} onChange={(e) => edit({ ...draft, to: e.target.value })} />
      </label>
      <div className="row presets">
        {PRESETS.map((days) => {
          const preset = lastDays(days);
          const active = preset.from === value.from && preset.to === value.to;
          return (
            <button key={days} type="button" aria-pressed={active} onClick={() => edit(preset)}>
              {t("range.last", { days })}
            </button>
          );
        })}
      </div>
      {invalid && (
        <p role="alert" className="error small">
          {t("range.invalid")}
        </p>
      )}
    </div>
  );
}
