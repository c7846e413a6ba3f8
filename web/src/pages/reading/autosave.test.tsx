import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { EMPTY_REPORT, shouldSave, useAutosave, type ReportBody } from "./autosave";

const body = (over: Partial<ReportBody> = {}): ReportBody => ({ ...EMPTY_REPORT, ...over });

describe("shouldSave", () => {
  it("saves only real changes", () => {
    expect(shouldSave(body(), body())).toBe(false);
    expect(shouldSave(body({ findings: "a" }), body())).toBe(true);
    // key order and blank structured values are not changes
    expect(shouldSave(body({ structured: { a: "1", b: "2" } }), body({ structured: { b: "2", a: "1", c: "" } }))).toBe(false);
    // a note without the critical flag is not sent, so it is no change either
    expect(shouldSave(body({ critical_note: "x" }), body())).toBe(false);
    expect(shouldSave(body({ critical: true }), body())).toBe(true);
  });
});

describe("useAutosave", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = (saved: ReportBody, save = vi.fn().mockResolvedValue({})) => {
    const hook = renderHook(({ value }) => useAutosave(value, save, { saved, delay: 3000 }), {
      initialProps: { value: saved },
    });
    return { ...hook, save };
  };

  it("does not save unchanged content", async () => {
    const { save, rerender } = setup(body({ findings: "x" }));
    rerender({ value: body({ findings: "x" }) });
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(save).not.toHaveBeenCalled();
  });

  it("saves once, 3 s after the last change", async () => {
    const { save, rerender, result } = setup(body());
    rerender({ value: body({ findings: "a" }) });
    await act(() => vi.advanceTimersByTimeAsync(2000));
    rerender({ value: body({ findings: "ab" }) });
    await act(() => vi.advanceTimersByTimeAsync(2999));
    expect(save).not.toHaveBeenCalled();
    expect(result.current.status).toBe("pending");
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(save).toHaveBeenCalledTimes(1);
    expect(save).toHaveBeenCalledWith(body({ findings: "ab" }));
    expect(result.current.status).toBe("saved");
    expect(result.current.savedAt).toBeInstanceOf(Date);
    // re-rendering the same content later saves nothing more
    rerender({ value: body({ findings: "ab" }) });
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(save).toHaveBeenCalledTimes(1);
  });

  it("flush saves at once and only when changed", async () => {
    const { save, rerender, result } = setup(body());
    await act(() => result.current.flush());
    expect(save).not.toHaveBeenCalled();
    rerender({ value: body({ impression: "i" }) });
    await act(() => result.current.flush());
    expect(save).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(save).toHaveBeenCalledTimes(1);
  });

  it("reports the server's error and tries again on the next change", async () => {
    const save = vi.fn().mockRejectedValueOnce(new Error("cannot save_draft a referral that is preliminary")).mockResolvedValue({});
    const { rerender, result } = setup(body(), save);
    rerender({ value: body({ findings: "a" }) });
    await act(() => vi.advanceTimersByTimeAsync(3000));
    expect(result.current.status).toBe("error");
    expect((result.current.error as Error).message).toMatch(/preliminary/);
    rerender({ value: body({ findings: "ab" }) });
    await act(() => vi.advanceTimersByTimeAsync(3000));
    expect(save).toHaveBeenCalledTimes(2);
    expect(result.current.status).toBe("saved");
  });
});
