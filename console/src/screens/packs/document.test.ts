import { describe as suite, expect, it } from "vitest";
import { describe, parseDocument } from "./document";

suite("an uploaded document", () => {
  it("parses a JSON object and says what it is", () => {
    const parsed = parseDocument("finance.json", '{"kind":"DomainPack","domain":"finance","version":"3.2.0"}');
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(describe(parsed.document)).toBe("DomainPack finance 3.2.0");
  });

  it("is one problem at the root when it is not a JSON object", () => {
    const broken = parseDocument("broken.json", '{"kind": ');
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.issues[0]).toMatchObject({ pointer: "", code: "not_json" });
    const list = parseDocument("list.json", "[1, 2]");
    expect(list.ok).toBe(false);
    if (!list.ok) expect(list.issues[0]?.code).toBe("not_an_object");
  });
});
