import i18n from "i18next";
import { describe, expect, it } from "vitest";

import { ApiError } from "../api/client";
import "../i18n";
import { signInError } from "./signInError";

const t = (key: string, options?: Record<string, unknown>) => String(i18n.t(key, options));

describe("signInError", () => {
  it("says how long to wait after too many wrong passwords, in both languages", async () => {
    const locked = new ApiError(429, "sign_in_locked", "too many", { retry_after_seconds: 42, subject: "account" });
    await i18n.changeLanguage("en");
    expect(signInError(locked, t)).toBe("Too many wrong passwords. Please wait 42 seconds before trying again.");
    await i18n.changeLanguage("zh");
    expect(signInError(locked, t)).toBe("密码错误次数过多，请等待 42 秒后再试。");
  });

  it("says a wrong password is wrong", async () => {
    await i18n.changeLanguage("en");
    expect(signInError(new ApiError(401, "unauthenticated", "wrong"), t)).toBe("Wrong username or password.");
  });
});
