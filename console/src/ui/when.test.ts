import { describe, expect, it } from "vitest";
import { when } from "./when";

describe("when", () => {
  it("shows minutes in UTC, and what it cannot read as it is", () => {
    expect(when("2026-12-03T08:51:46.456422Z")).toBe("2026-12-03 08:51 UTC");
    expect(when("2026-12-03T09:51:46+01:00")).toBe("2026-12-03 08:51 UTC");
    expect(when("yesterday")).toBe("yesterday");
    expect(when(null)).toBe("");
  });
});
