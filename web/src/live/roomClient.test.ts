import { alignExtensionIds, rejoinDelay, roomSocketUrl } from "./roomClient";

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

describe("offers use the live process's RTP header extension numbers", () => {
  it("renumbers the ones aiortc knows and drops the rest", () => {
    const chrome = [
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
      "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
      "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
      "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
      "a=extmap:5/sendrecv urn:3gpp:video-orientation",
      "a=mid:0",
    ].join("\r\n");
    expect(alignExtensionIds(chrome).split("\r\n")).toEqual([
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
      "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
      "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
      "a=mid:0",
    ]);
  });
});
