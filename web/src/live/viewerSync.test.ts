import { indexFor, sopOf } from "./viewerSync";

describe("viewer sync: finding the presenter's image in this viewer's stack", () => {
  const ids = [
    "wadors:http://h/dicomweb/studies/1.2/series/1.2.3/instances/1.2.3.10/frames/1",
    "wadors:http://h/dicomweb/studies/1.2/series/1.2.3/instances/1.2.3.11/frames/1",
    "wadouri:http://h/dicomweb?requestType=WADO&studyUID=1.2&objectUID=1.2.3.12",
  ];

  it("reads the SOP Instance UID out of WADO-RS and WADO-URI image ids", () => {
    expect(ids.map(sopOf)).toEqual(["1.2.3.10", "1.2.3.11", "1.2.3.12"]);
    expect(sopOf(undefined)).toBeNull();
    expect(sopOf("blob:whatever")).toBeNull();
  });

  it("lands on the same image by its UID, else on the same index kept inside the stack", () => {
    expect(indexFor(ids, "1.2.3.12", 0)).toBe(2);
    expect(indexFor(ids, "9.9.9", 1)).toBe(1);
    expect(indexFor(ids, null, 40)).toBe(2);
    expect(indexFor(ids, null, -3)).toBe(0);
  });
});
