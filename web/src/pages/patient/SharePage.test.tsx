import { screen } from "@testing-library/react";

import { ApiError } from "../../api/client";
import { renderUi } from "../../test/render";
import type { SharedResult } from "../../api/generated/schema";
import { ShareError, SharedReport } from "./SharePage";

test.each([
  ["share_link_expired", 410, "This link has expired"],
  ["share_link_revoked", 410, "withdrawn by the hospital"],
  ["wrong_second_factor", 403, "The birth date does not match"],
  ["not_found", 404, "This link is not valid"],
])("%s is told plainly", (code, status, words) => {
  renderUi(<ShareError error={new ApiError(status, code, "server words")} />);
  expect(screen.getByRole("alert")).toHaveTextContent(words);
});

test("the result shows the notice, the report and the key images with alt text", () => {
  const result: SharedResult = {
    notice: "",
    patient: { name: "Liu Bei", sex: "M" },
    study: { modality: "CT", body_part: "CHEST" },
    reports: [
      { kind: "final", version: 3, findings: "Nodule 8 mm", impression: "Follow up", signed_by: "Chen Ming", signed_at: "2026-11-23T12:00:00Z" },
    ],
    key_images: ["/api/share/t/images/1.2.3.4?expires=1&signature=x"],
    expires_at: "2026-12-23T12:00:00Z",
  };
  renderUi(<SharedReport result={result} />);
  expect(screen.getByText("For the patient's reference only, not for diagnosis")).toBeInTheDocument();
  expect(screen.getByText("仅供患者参考，不作为诊断依据")).toBeInTheDocument();
  expect(screen.getByText("Nodule 8 mm")).toBeInTheDocument();
  expect(screen.getByRole("img", { name: "Key image 1 of the CT CHEST exam" })).toBeInTheDocument();
});
