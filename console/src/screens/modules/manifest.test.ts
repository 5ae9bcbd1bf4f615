import { describe, expect, it } from "vitest";
import finance from "../../../../examples/modules/finance-dispute-assistant-2.3.0.json";
import itsm from "../../../../examples/modules/itsm-triage-agent-1.0.0.json";
import { applyFields, BLANK_MANIFEST, checkManifest, fieldsOf } from "./manifest";

const examples: Record<string, unknown> = {
  "itsm-triage-agent-1.0.0.json": itsm,
  "finance-dispute-assistant-2.3.0.json": finance,
};
const example = (name: string) => JSON.stringify(examples[name]);

describe("checkManifest", () => {
  it("admits the example releases", () => {
    for (const name of ["itsm-triage-agent-1.0.0.json", "finance-dispute-assistant-2.3.0.json"]) {
      expect(checkManifest(example(name)).problems).toEqual([]);
    }
  });

  it("names each problem at its pointer", () => {
    const manifest = JSON.parse(example("itsm-triage-agent-1.0.0.json"));
    manifest.image = "registry.plinth.example/modules/itsm-triage-agent:latest";
    delete manifest.name;
    manifest.data_mode = "everything";
    manifest.colour = "blue";
    const pointers = checkManifest(JSON.stringify(manifest)).problems.map((p) => p.pointer);
    expect(pointers).toEqual(expect.arrayContaining(["/image", "/name", "/data_mode", "/colour"]));
  });

  it("says when the text is not JSON", () => {
    const { manifest, problems } = checkManifest("{ nope");
    expect(manifest).toBeUndefined();
    expect(problems[0]?.message).toMatch(/^not JSON/);
  });
});

describe("the guided fields", () => {
  it("read back what they wrote, and keep what they do not show", () => {
    const manifest = JSON.parse(example("itsm-triage-agent-1.0.0.json"));
    const again = applyFields(manifest, fieldsOf(manifest));
    expect(again).toEqual(manifest);
    expect(again.policy_expectations).toEqual(manifest.policy_expectations);
  });

  it("generate a manifest the schema admits from a blank one", () => {
    const fields = {
      ...fieldsOf(BLANK_MANIFEST),
      id: "crm-sync",
      name: "CRM sync",
      repository: "https://github.com/plinth-modules/crm-sync",
      commit: "0123456789abcdef0123456789abcdef01234567",
      image: `registry.plinth.example/modules/crm-sync@sha256:${"a".repeat(64)}`,
      tools: "crm.lookup_account read Reads the account.\ncrm.note ticket_update",
      connectors: "salesforce, ",
      aiProviders: "openai",
      cleanup: "purge-cache purge_data Delete the cached accounts.",
    };
    const manifest = applyFields(BLANK_MANIFEST, fields);
    expect(checkManifest(JSON.stringify(manifest)).problems).toEqual([]);
    expect(manifest.tools).toEqual([
      { id: "crm.lookup_account", action_class: "read", description: "Reads the account." },
      { id: "crm.note", action_class: "ticket_update" },
    ]);
    expect(manifest.requires).toEqual({ connectors: ["salesforce"], ai_providers: ["openai"] });
    expect(manifest).not.toHaveProperty("description");
  });

  it("leave a number that is not one for the schema to refuse", () => {
    const manifest = applyFields(BLANK_MANIFEST, { ...fieldsOf(BLANK_MANIFEST), memoryMib: "lots" });
    const problems = checkManifest(JSON.stringify(manifest)).problems.map((p) => p.pointer);
    expect(problems).toContain("/runtime/resources/memory_mib");
  });
});
