import { describe, expect, it } from "vitest";
import { countBy } from "./count";

describe("countBy", () => {
  it("counts each key once, keys in order", () => {
    expect(countBy(["b", "a", "b", "c", "b"], (x) => x)).toEqual([
      ["a", 1],
      ["b", 3],
      ["c", 1],
    ]);
  });
  it("counts nothing in nothing", () => {
    expect(countBy([], (x: string) => x)).toEqual([]);
  });
});
