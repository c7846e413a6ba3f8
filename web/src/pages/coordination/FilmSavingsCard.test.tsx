import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { SavingsBars } from "./FilmSavingsCard";

describe("SavingsBars", () => {
  it("draws both counts of each month against the largest one", () => {
    const months = [
      { month: "2026-11", films_not_printed: 4, repeats_avoided: 1 },
      { month: "2026-12", films_not_printed: 2, repeats_avoided: 0 },
    ];
    const { container } = render(<SavingsBars months={months} />);
    const heights = (cls: string) =>
      [...container.querySelectorAll(`rect.${cls}`)].map((r) => Number(r.getAttribute("height")));
    expect(heights("bar-film")).toEqual([48, 24]);
    expect(heights("bar-repeat")).toEqual([12, 0]);
  });

  it("draws nothing tall for an empty window", () => {
    const { container } = render(<SavingsBars months={[{ month: "2026-12", films_not_printed: 0, repeats_avoided: 0 }]} />);
    expect([...container.querySelectorAll("rect")].every((r) => r.getAttribute("height") === "0")).toBe(true);
  });
});
