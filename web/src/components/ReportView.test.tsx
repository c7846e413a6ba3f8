import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { ReportVersion } from "../api/types";
import { renderUi } from "../test/render";
import { ReportView, signedReports } from "./ReportView";

function version(v: number, kind: ReportVersion["kind"], extra: Partial<ReportVersion> = {}): ReportVersion {
  return {
    referral_id: "ref-1",
    version: v,
    kind,
    author_id: "wang.expert",
    author_role: "expert",
    author_name: "Wang Li",
    findings: `findings v${v}`,
    impression: `impression v${v}`,
    structured: {},
    critical: false,
    critical_note: "",
    created_at: "2026-11-23T12:00:00+00:00",
    ...extra,
  };
}

test("shows the final report with its critical banner and structured fields", () => {
  renderUi(
    <ReportView
      reports={[
        version(2, "final", {
          critical: true,
          critical_note: "Suspected malignancy",
          structured: { lung_rads: "4B" },
          author_name: "Chen Ming",
        }),
      ]}
    />,
  );
  expect(screen.getByRole("alert")).toHaveTextContent("Critical finding: Suspected malignancy");
  expect(screen.getByText("findings v2")).toBeInTheDocument();
  expect(screen.getByRole("cell", { name: "4B" })).toBeInTheDocument();
  expect(screen.queryByText(/Version history/)).not.toBeInTheDocument();
});

test("no banner without a critical finding; says when nothing is signed yet", () => {
  renderUi(<ReportView reports={[version(1, "preliminary")]} />);
  expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  expect(screen.getByText("No signed report yet.")).toBeInTheDocument();
});

test("lists every version, newest first, when the server sent drafts and preliminaries", async () => {
  renderUi(<ReportView reports={[version(1, "draft"), version(3, "final"), version(2, "preliminary"), version(4, "addendum")]} />);
  const history = screen.getByText("Version history (4)");
  await userEvent.click(history);
  const summaries = screen.getAllByText(/^v\d · /).map((el) => el.textContent?.slice(0, 2));
  expect(summaries).toEqual(["v4", "v3", "v2", "v1"]);
  expect(screen.getByRole("heading", { name: "Addenda" })).toBeInTheDocument();
});

test("signedReports keeps the final and its addenda in version order", () => {
  const signed = signedReports([version(4, "addendum"), version(2, "preliminary"), version(3, "final")]);
  expect(signed.map((r) => r.version)).toEqual([3, 4]);
});
