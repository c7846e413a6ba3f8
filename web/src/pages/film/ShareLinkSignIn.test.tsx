import { describe, expect, it } from "vitest";

import { shareToken } from "./ShareLinkSignIn";

describe("shareToken", () => {
  it("takes the token from the whole address on the result slip, or as typed", () => {
    expect(shareToken("https://yilian.example.cn/s/abc.DEF-12_x")).toBe("abc.DEF-12_x");
    expect(shareToken("  http://127.0.0.1:8000/s/tok%2Fen?utm=1 ")).toBe("tok/en");
    expect(shareToken(" abc.DEF ")).toBe("abc.DEF");
  });
});
