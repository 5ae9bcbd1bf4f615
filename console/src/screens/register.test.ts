import { describe, expect, it } from "vitest";
import { checkStep, slugProblem, stepOf, suggestSlug } from "./register";

describe("the register-tenant rules", () => {
  it("suggests a slug the registry accepts", () => {
    expect(suggestSlug("Acme Corporation")).toBe("acme-corporation");
    expect(suggestSlug("  3M — Europe!  ")).toBe("m-europe");
    expect(slugProblem(suggestSlug("Globex, Inc."))).toBeUndefined();
  });

  it("refuses what the registry refuses", () => {
    for (const bad of ["ab", "Acme", "1acme", "acme-", "ac--me", "a".repeat(41), "acme_co"]) {
      expect(slugProblem(bad), bad).toBeDefined();
    }
    expect(slugProblem("acme-eu-2")).toBeUndefined();
  });

  it("checks each step's fields and maps a refused field to its step", () => {
    const draft = {
      display_name: "",
      slug: "acme",
      region: "us",
      deployment_model: "hosted_saas" as const,
      data_mode: "metadata_only" as const,
      owner_name: "Ana",
      owner_email: "not-an-address",
      owner_phone: "",
    };
    expect(Object.keys(checkStep(0, draft))).toEqual(["display_name"]);
    expect(Object.keys(checkStep(2, draft))).toEqual(["owner_email"]);
    expect(stepOf("owner_contact.email")).toBe(2);
    expect(stepOf("slug")).toBe(0);
    expect(stepOf("deployment_model")).toBe(1);
  });
});
