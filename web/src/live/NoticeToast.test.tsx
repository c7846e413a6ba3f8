import { QueryClient } from "@tanstack/react-query";
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import type { Notification } from "../api/generated/schema";
import { renderUi } from "../test/render";
import { applyEvent } from "./LiveUpdates";
import { NoticeToast } from "./NoticeToast";

const notice: Notification = {
  id: 7,
  kind: "needs_info",
  referral_id: "ref-1",
  params: { referral_id: "ref-1", request: "请补充增强扫描" },
  title: null,
  body: null,
  created_at: "2026-01-01T08:00:00+00:00",
  read_at: null,
};

describe("NoticeToast", () => {
  it("says the notice in the reader's language and links to the case", () => {
    renderUi(<NoticeToast notice={notice} onDone={vi.fn()} />, { lang: "zh" });
    expect(screen.getByRole("status")).toHaveTextContent("需补充资料");
    expect(screen.getByRole("link", { name: "需补充资料" })).toHaveAttribute("href", "/cases/ref-1");
    expect(screen.getByText("申请 ref-1：请补充增强扫描")).toBeInTheDocument();
  });

  it("goes when dismissed, and by itself after a while", async () => {
    const onDone = vi.fn();
    renderUi(<NoticeToast notice={notice} onDone={onDone} />);
    await userEvent.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(onDone).toHaveBeenCalledTimes(1);
    vi.useFakeTimers();
    try {
      const later = vi.fn();
      renderUi(<NoticeToast notice={{ ...notice, id: 8 }} onDone={later} />);
      vi.advanceTimersByTime(8000);
      expect(later).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps an empty live region when there is nothing to say", () => {
    renderUi(<NoticeToast notice={null} onDone={vi.fn()} />);
    expect(screen.getByRole("status")).toBeEmptyDOMElement();
  });
});

describe("applyEvent", () => {
  it("refreshes the inbox and hands over the notice the stream brought", () => {
    const client = new QueryClient();
    const invalidate = vi.spyOn(client, "invalidateQueries");
    expect(applyEvent(client, "notification", JSON.stringify(notice))).toEqual(notice);
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ["notifications"] });
    expect(applyEvent(client, "resync", "{}")).toBeNull();
  });
});
