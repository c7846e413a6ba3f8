import { screen } from "@testing-library/react";

import { renderUi } from "../../test/render";
import { type ReadingChoice, useChoiceLabel } from "./ReadingHospitalPicker";

function choice(extra: Partial<ReadingChoice>): ReadingChoice {
  return {
    hospital_id: "h-prov",
    hospital_name: "Provincial Hospital",
    in_house: false,
    agreement_ids: ["agr-1"],
    service_modes: ["full_hosting"],
    when: ["always"],
    ...extra,
  };
}

function Labels({ choices }: { choices: ReadingChoice[] }) {
  const label = useChoiceLabel();
  return (
    <ul>
      {choices.map((c) => (
        <li key={c.hospital_id}>{label(c)}</li>
      ))}
    </ul>
  );
}

const CHOICES = [
  choice({ hospital_id: "h-own", hospital_name: "County Hospital", in_house: true, agreement_ids: [], service_modes: [] }),
  choice({}),
  choice({ hospital_id: "h-city", hospital_name: "City Hospital", service_modes: ["half_hosting"], when: ["hosted_hours", "overflow"] }),
  choice({ hospital_id: "h-far", hospital_name: "Far Hospital", service_modes: ["difficult_only"], when: ["difficult"] }),
];

test("each choice says the hospital, in-house or its service mode, and when it reads the case", () => {
  renderUi(<Labels choices={CHOICES} />);
  expect(screen.getByText("County Hospital: in-house (本院)")).toBeInTheDocument();
  expect(screen.getByText("Provincial Hospital: full hosting")).toBeInTheDocument();
  expect(
    screen.getByText("City Hospital: half hosting, if sent within the hosted hours or if declared overflow"),
  ).toBeInTheDocument();
  expect(screen.getByText("Far Hospital: difficult cases only, if flagged difficult")).toBeInTheDocument();
});

test("in Chinese", () => {
  renderUi(<Labels choices={CHOICES} />, { lang: "zh-CN" });
  expect(screen.getByText("County Hospital：本院阅片")).toBeInTheDocument();
  expect(screen.getByText("Provincial Hospital：全托管")).toBeInTheDocument();
  expect(screen.getByText("City Hospital：半托管，须在托管时段内发送或须声明超负荷")).toBeInTheDocument();
});
