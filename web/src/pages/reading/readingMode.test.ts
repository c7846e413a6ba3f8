import { describe, expect, it } from "vitest";

import type { ReferralAction } from "../../api/allowedActions";
import { readingMode } from "./ReadingPage";

const me = { id: "e1" };
const r = (allowed_actions: ReferralAction[], reader_id: string | null = null) => ({ allowed_actions, reader_id });

describe("readingMode follows the server's allowed_actions", () => {
  it.each([
    [["save_draft", "submit_preliminary", "request_info"], "e1", "edit"],
    [["save_draft", "submit_preliminary"], "e1", "edit"],
    [["approve", "request_changes"], "e2", "review"],
    [["accept", "decline"], null, "offer"],
    [[], "e1", "reader-view"], // the reader's own case while it waits for the second reader or the county
    [[], "e2", "other"],
    [["add_addendum"], "e1", "reader-view"],
  ] as const)("%j with reader %s is %s", (allowed, reader, mode) => {
    expect(readingMode(r([...allowed], reader), me)).toBe(mode);
  });
});
