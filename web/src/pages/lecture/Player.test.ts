import { describe, expect, it } from "vitest";

import { withToken } from "./Player";

describe("withToken", () => {
  it("puts the current watch token on a segment URL the player asks for", () => {
    const url = withToken("/api/lectures/lec-1/hls/seg_000001.ts?t=OLD", "NEW");
    expect(new URL(url).pathname).toBe("/api/lectures/lec-1/hls/seg_000001.ts");
    expect(new URL(url).searchParams.get("t")).toBe("NEW");
  });

  it("adds one to a URL that had none", () => {
    expect(new URL(withToken("http://h.test/api/lectures/x/hls/live.m3u8", "T")).search).toBe("?t=T");
  });
});
