import { screen } from "@testing-library/react";

import { renderUi } from "../../test/render";
import { AgreementSummary, allowsOverflow, onlyDifficult, outgoing, type AgreementInfo } from "./AgreementSummary";

function agreement(extra: Partial<AgreementInfo>): AgreementInfo {
  return {
    id: "agr-1",
    requesting_hospital_id: "h-county",
    requesting_hospital_name: "County Hospital",
    reading_hospital_id: "h-prov",
    reading_hospital_name: "Provincial Hospital",
    service_mode: "full_hosting",
    active: true,
    covers: "every study",
    sla: { stat_minutes: 30, urgent_minutes: 120, routine_minutes: 1440 },
    second_reading: "always",
    second_reading_share: 0.2,
    second_reading_covers: "every case",
    half_hosting: null,
    cooperation_modalities: [],
    timezone: "Asia/Shanghai",
    ...extra,
  };
}

test("full hosting: says every study, the SLA per priority and the second-reading policy", () => {
  renderUi(<AgreementSummary agreements={[agreement({})]} />);
  expect(screen.getByText(/Full hosting: every study/)).toBeInTheDocument();
  expect(screen.getByText("STAT 30 min · Urgent 2 h 00 min · Routine 1 d 0 h")).toBeInTheDocument();
  expect(screen.getByText("every case")).toBeInTheDocument();
  expect(screen.getByText("Provincial Hospital")).toBeInTheDocument();
});

test("half hosting: which modalities, hours and overflow cap", () => {
  renderUi(
    <AgreementSummary
      agreements={[
        agreement({
          service_mode: "half_hosting",
          second_reading: "random_share",
          half_hosting: { modalities: ["CT", "MR"], hours_start: "18:00", hours_end: "08:00", overflow_daily_cap: 5 },
        }),
      ]}
    />,
  );
  expect(screen.getByText("Modalities: CT, MR")).toBeInTheDocument();
  expect(screen.getByText("Any study sent between 18:00 and 08:00 (Asia/Shanghai)")).toBeInTheDocument();
  expect(screen.getByText("Declared overflow, up to 5 cases a day")).toBeInTheDocument();
  expect(screen.getByText("a random 20% of cases")).toBeInTheDocument();
});

test("difficult only: tells the doctor to flag the case", () => {
  renderUi(<AgreementSummary agreements={[agreement({ service_mode: "difficult_only" })]} />);
  expect(screen.getByText(/only cases you flag as difficult/)).toBeInTheDocument();
  expect(screen.getByText(/tick “Difficult case” below/)).toBeInTheDocument();
});

test("cooperation: which modalities", () => {
  renderUi(<AgreementSummary agreements={[agreement({ service_mode: "cooperation", cooperation_modalities: ["MR"] })]} />);
  expect(screen.getByText("Modalities: MR")).toBeInTheDocument();
});

test("warns when there is no agreement", () => {
  renderUi(<AgreementSummary agreements={[]} />);
  expect(screen.getByRole("alert")).toHaveTextContent("no active service agreement");
});

test("says which cases the hospital reads itself (本院写片), and then does not warn", () => {
  renderUi(<AgreementSummary agreements={[]} inHouse={["CT", "MR"]} />);
  expect(screen.getByText(/CT, MR cases are read by your hospital's own readers/)).toBeInTheDocument();
  expect(screen.queryByRole("alert")).toBeNull();
});

test("only this hospital's active outgoing agreements count; overflow and difficult-only follow the modes", () => {
  const mine = agreement({ id: "a" });
  const inactive = agreement({ id: "b", active: false });
  const incoming = agreement({ id: "c", requesting_hospital_id: "h-other" });
  expect(outgoing([mine, inactive, incoming], "h-county").map((a) => a.id)).toEqual(["a"]);
  expect(onlyDifficult([agreement({ service_mode: "difficult_only" })])).toBe(true);
  expect(onlyDifficult([agreement({ service_mode: "difficult_only" }), mine])).toBe(false);
  expect(onlyDifficult([])).toBe(false);
  const half = agreement({
    service_mode: "half_hosting",
    half_hosting: { modalities: [], hours_start: null, hours_end: null, overflow_daily_cap: 3 },
  });
  expect(allowsOverflow([half])).toBe(true);
  expect(allowsOverflow([mine])).toBe(false);
});
