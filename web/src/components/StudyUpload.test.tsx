import { screen, within } from "@testing-library/react";

import { renderUi } from "../test/render";
import { UploadOutcomes, UploadProgress, type UploadResult } from "./StudyUpload";

test("the progress bar has an accessible name and says the percentage", () => {
  renderUi(<UploadProgress fraction={0.42} />);
  const bar = screen.getByRole("progressbar", { name: "Upload progress" });
  expect(bar).toHaveAttribute("value", "42");
  expect(screen.getByRole("status")).toHaveTextContent("Uploading… 42%");
});

test("once all bytes are sent it says the server is storing them", () => {
  renderUi(<UploadProgress fraction={1} />);
  expect(screen.getByRole("status")).toHaveTextContent("the server is storing the images");
});

test("lists each file's outcome with the server's reason for a rejection", () => {
  const result: UploadResult = {
    stored: 2,
    failed: 1,
    studies: [{ study_instance_uid: "1.2.3", retrieve_url: "/dicomweb/studies/1.2.3" }],
    files: [
      { file: "a.dcm", outcome: "stored", sop_instance_uid: "1.2.3.1", reason: null, failure_reason: null },
      { file: "b.dcm", outcome: "duplicate", sop_instance_uid: "1.2.3.2", reason: null, failure_reason: null },
      { file: "notes.txt", outcome: "rejected", sop_instance_uid: "", reason: "not a DICOM file", failure_reason: "C000" },
    ],
  };
  renderUi(<UploadOutcomes result={result} />);
  expect(screen.getByRole("status")).toHaveTextContent("2 stored, 1 rejected");
  const items = within(screen.getByRole("list", { name: "Files" })).getAllByRole("listitem");
  expect(items[0]).toHaveTextContent("Stored a.dcm");
  expect(items[1]).toHaveTextContent("Already stored b.dcm");
  expect(items[2]).toHaveTextContent("Rejected notes.txt — not a DICOM file");
});
