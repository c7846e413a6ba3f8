import { act, screen } from "@testing-library/react";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { SlaBadge } from "../components/Badges";
import { AgreementSummary, type AgreementInfo } from "../pages/county/AgreementSummary";
import { renderUi } from "../test/render";
import i18n from ".";
import { durationParts, formatDuration } from "./duration";

const MIN = 60_000;

describe("durationParts", () => {
  it("cuts to the coarse units, rounding down", () => {
    expect(durationParts(59_999)).toEqual({ key: "s", values: { n: 59 } });
    expect(durationParts(18 * MIN + 59_000)).toEqual({ key: "min", values: { n: 18 } });
    expect(durationParts(65 * MIN)).toEqual({ key: "hmin", values: { h: 1, m: 5, mm: "05" } });
    expect(durationParts((3 * 1440 + 2 * 60 + 59) * MIN)).toEqual({ key: "dh", values: { d: 3, h: 2 } });
    expect(durationParts(-90 * MIN)).toEqual(durationParts(90 * MIN));
  });
});

describe("formatDuration", () => {
  it("speaks the interface language", () => {
    expect(formatDuration(45_000, "en")).toBe("45 s");
    expect(formatDuration(45_000, "zh")).toBe("45 秒");
    expect(formatDuration(18 * MIN, "en")).toBe("18 min");
    expect(formatDuration(18 * MIN, "zh")).toBe("18 分钟");
    expect(formatDuration(65 * MIN, "en")).toBe("1 h 05 min");
    expect(formatDuration(65 * MIN, "zh")).toBe("1 小时 5 分钟");
    expect(formatDuration(1440 * MIN, "en")).toBe("1 d 0 h");
    expect(formatDuration((3 * 1440 + 120) * MIN, "zh")).toBe("3 天 2 小时");
  });

  it("leaves no Latin unit in Chinese, for any duration", () => {
    for (const minutes of [0, 0.5, 1, 59, 60, 61, 719, 1439, 1440, 1441, 10_000]) {
      expect(formatDuration(minutes * MIN, "zh")).not.toMatch(/[a-z]/i);
    }
  });
});

const agreement: AgreementInfo = {
  id: "agr-anping",
  requesting_hospital_id: "h-anping",
  requesting_hospital_name: "Anping",
  reading_hospital_id: "h-provincial",
  reading_hospital_name: "Provincial",
  service_mode: "full_hosting",
  active: true,
  covers: "",
  sla: { stat_minutes: 30, urgent_minutes: 120, routine_minutes: 1440 },
  second_reading: "always",
  second_reading_share: 0,
  second_reading_covers: "",
  half_hosting: null,
  cooperation_modalities: [],
  timezone: "Asia/Shanghai",
};

describe("durations on screen", () => {
  it("an SLA countdown switches units with the language", async () => {
    const due = new Date(Date.now() + 3 * 1440 * MIN + 2 * 60 * MIN + 30_000).toISOString();
    renderUi(<SlaBadge referral={{ sla_status: "on_track", sla_due_at: due, state: "in_reading" }} />, { lang: "zh" });
    expect(screen.getByText(/剩余 3 天 2 小时/)).toBeInTheDocument();
    await act(() => i18n.changeLanguage("en"));
    expect(screen.getByText(/due in 3 d 2 h/)).toBeInTheDocument();
  });

  it("an agreement's SLA targets are in Chinese in the Chinese interface", () => {
    renderUi(<AgreementSummary agreements={[agreement]} />, { lang: "zh" });
    expect(screen.getByText(/30 分钟.*2 小时 0 分钟.*1 天 0 小时/)).toBeInTheDocument();
  });

  it("no component spells a unit of time itself", () => {
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) && !path.includes(join("src", "i18n"))) {
          sources.push(path);
        }
      }
    };
    walk(join(__dirname, ".."));
    const offenders = sources.filter((path) => /`[^`]*\$\{[^}]+\}\s*(d|h|min|s)\b[^`]*`/.test(readFileSync(path, "utf8")));
    expect(offenders).toEqual([]);
  });
});
