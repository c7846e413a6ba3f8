import { isoDate, studyRow } from "./dicom";

test("reads a QIDO study row into the form's fields", () => {
  const row = studyRow({
    "0020000D": { vr: "UI", Value: ["1.2.3"] },
    "00100020": { vr: "LO", Value: ["AP7001"] },
    "00100010": { vr: "PN", Value: [{ Alphabetic: "Li^Si", Ideographic: "李^四" }] },
    "00100030": { vr: "DA", Value: ["19650412"] },
    "00100040": { vr: "CS", Value: ["m"] },
    "00080061": { vr: "CS", Value: ["CT", "SR"] },
  });
  expect(row).toMatchObject({
    studyInstanceUid: "1.2.3",
    patientId: "AP7001",
    patientName: "李四 Li Si",
    birthDate: "1965-04-12",
    sex: "M",
    modalities: ["CT", "SR"],
  });
});

test("missing or odd values become empty", () => {
  expect(studyRow({}).sex).toBe("");
  expect(isoDate("1965")).toBe("");
});
