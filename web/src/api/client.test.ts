import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { setToken, setUnauthorizedHandler } from "../auth/token";
import { ApiError, api, dicomJson, ok } from "./client";

function answer(status: number, body: unknown, type = "application/json") {
  return vi.fn(async (_request: Request) => new Response(body === null ? null : JSON.stringify(body), { status, headers: { "Content-Type": type } }));
}

describe("the API client", () => {
  let ended: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    ended = vi.fn();
    setUnauthorizedHandler(ended);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    setToken(null);
  });

  it("sends the session's token and answers the typed body", async () => {
    setToken("t0k");
    const fetch = answer(200, { status: "ok" });
    vi.stubGlobal("fetch", fetch);
    expect(await ok(api.GET("/api/health"))).toEqual({ status: "ok" });
    const request = fetch.mock.calls[0][0];
    expect(new URL(request.url).pathname).toBe("/api/health");
    expect(request.headers.get("Authorization")).toBe("Bearer t0k");
  });

  it("throws the catalogue's error in the server's own words", async () => {
    vi.stubGlobal("fetch", answer(422, { error: "validation_failed", message: "some fields are missing", details: [{ field: "body.x", problem: "required" }] }));
    const error = await ok(api.GET("/api/me")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, code: "validation_failed", message: "some fields are missing", details: [{ field: "body.x", problem: "required" }] });
    expect(ended).not.toHaveBeenCalled();
  });

  it("ends the session on a 401 to a request that carried a token, not on one that did not", async () => {
    vi.stubGlobal("fetch", answer(401, { error: "unauthenticated", message: "sign in first", details: null }));
    await expect(ok(api.GET("/api/me"))).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
    expect(ended).not.toHaveBeenCalled();
    setToken("expired");
    await expect(ok(api.GET("/api/me"))).rejects.toMatchObject({ status: 401 });
    expect(ended).toHaveBeenCalledOnce();
  });

  it("says the network failed when there is no answer, and the status when the body is not the catalogue's", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(ok(api.GET("/api/me"))).rejects.toMatchObject({ status: 0, code: "network_error" });
    vi.stubGlobal("fetch", vi.fn(async () => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" })));
    await expect(ok(api.GET("/api/me"))).rejects.toMatchObject({ status: 502, code: "error", message: "Bad Gateway" });
  });

  it("reads DICOMweb JSON with the same session, and an empty QIDO answer as no rows", async () => {
    setToken("t0k");
    const fetch = answer(200, [{ "0020000D": { vr: "UI", Value: ["1.2.3"] } }], "application/dicom+json");
    vi.stubGlobal("fetch", fetch);
    expect(await dicomJson("/dicomweb/studies", { StudyInstanceUID: "1.2.3", limit: 5 })).toHaveLength(1);
    const request = fetch.mock.calls[0][0];
    expect(request.url).toMatch(/\/dicomweb\/studies\?StudyInstanceUID=1\.2\.3&limit=5$/);
    expect(request.headers.get("Authorization")).toBe("Bearer t0k");
    vi.stubGlobal("fetch", vi.fn(async () => new Response(null, { status: 204 })));
    expect(await dicomJson("/dicomweb/studies", {})).toEqual([]);
  });
});
