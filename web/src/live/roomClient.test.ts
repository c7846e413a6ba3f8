import { rejoinDelay, roomSocketUrl } from "./roomClient";

describe("the room's signalling socket", () => {
  it("is the API's door on the page's own origin, wss behind https, with no token in the URL", () => {
    expect(roomSocketUrl("c-1", { protocol: "https:", host: "yilian.example:8443" })).toBe(
      "wss://yilian.example:8443/api/consults/c-1/live",
    );
    expect(roomSocketUrl("c 2", { protocol: "http:", host: "127.0.0.1:8000" })).toBe(
      "ws://127.0.0.1:8000/api/consults/c%202/live",
    );
  });

  it("rejoins after 1, 2, 4, 8, 8 … seconds", () => {
    expect([0, 1, 2, 3, 4, 9].map(rejoinDelay)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });
});
