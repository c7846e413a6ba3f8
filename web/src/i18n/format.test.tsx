/// <reference types="vite/client" />
import { act, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { AuditTable } from "../pages/coordination/AuditTrailTable";
import { RiskTable } from "../pages/coordination/RiskTable";
import type { RiskRow } from "../pages/coordination/dashboardData";
import { renderUi } from "../test/render";
import i18n from ".";
import { formatDate, formatDateTime, localeOf } from "./format";

const AT = "2026-11-23T12:05:03Z"; // 20:05:03 in Shanghai
const SHANGHAI = "Asia/Shanghai";

describe("formatDate", () => {
  it("follows the interface language, not the browser's", () => {
    expect(localeOf("zh")).toBe("zh-CN");
    expect(localeOf("zh-CN")).toBe("zh-CN");
    expect(localeOf("en")).toBe("en-GB");
    expect(formatDate(AT, "zh", "dateTime", SHANGHAI)).toBe("2026/11/23 20:05");
    expect(formatDate(AT, "en", "dateTime", SHANGHAI)).toBe("23/11/2026, 20:05");
    expect(formatDate(AT, "zh", "dateTimeSeconds", SHANGHAI)).toBe("2026/11/23 20:05:03");
    expect(formatDate(AT, "en", "dateTimeSeconds", SHANGHAI)).toBe("23/11/2026, 20:05:03");
    expect(formatDate(AT, "zh", "date", SHANGHAI)).toBe("2026/11/23");
    expect(formatDate(AT, "en", "date", SHANGHAI)).toBe("23/11/2026");
    expect(formatDate(Date.parse(AT), "en", "time", SHANGHAI)).toBe("20:05:03");
  });

  it("prints a dash for nothing and leaves what it cannot read as it is", () => {
    expect(formatDateTime(null, "zh")).toBe("—");
    expect(formatDateTime(undefined, "en")).toBe("—");
    expect(formatDateTime("", "en")).toBe("—");
    expect(formatDateTime("not a date", "en")).toBe("not a date");
  });
});

const risk: RiskRow = {
  id: "ref-1",
  sla: "breached",
  requesting_hospital_id: "h-anping",
  priority: "stat",
  state: "closed",
  reader: "wang.expert",
  offered: false,
  sla_due_at: AT,
  finished: true,
};

describe("dates in the coordinator's tables", () => {
  it("switch with the language", async () => {
    renderUi(<RiskTable rows={[risk]} nameOf={(id) => id} />, { lang: "zh" });
    expect(screen.getByText(formatDate(AT, "zh"))).toBeInTheDocument();
    await act(() => i18n.changeLanguage("en"));
    expect(screen.getByText(formatDate(AT, "en"))).toBeInTheDocument();
    expect(formatDate(AT, "en")).not.toBe(formatDate(AT, "zh"));
  });

  it("keep the seconds in the audit trail, where events of one minute must stay apart", () => {
    const event = {
      referral_id: "ref-1",
      seq: 1,
      action: "submit",
      from_state: null,
      to_state: "submitted",
      actor_id: "zhao.anping",
      actor_role: "county_doctor",
      actor_hospital_id: "h-anping",
      actor_name: null,
      at: AT,
      details: {},
    } as const;
    renderUi(<AuditTable events={[event]} referralId="ref-1" />, { lang: "zh" });
    expect(screen.getByText(formatDate(AT, "zh", "dateTimeSeconds"))).toBeInTheDocument();
  });
});

describe("the app's sources", () => {
  it("format no date with the browser's locale", () => {
    const sources = import.meta.glob(["../**/*.{ts,tsx}", "!../**/*.test.{ts,tsx}", "!./format.ts"], {
      query: "?raw",
      import: "default",
      eager: true,
    }) as Record<string, string>;
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    const offenders = Object.entries(sources)
      .filter(([, text]) => /\.toLocale(Date|Time)?String\(|new Intl\.DateTimeFormat/.test(text))
      .map(([path]) => path);
    expect(offenders).toEqual([]);
  });
});
