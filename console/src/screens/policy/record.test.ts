import { describe, expect, it } from "vitest";
import { budgetShare } from "./TenantPolicy";
import { emptyForm, fieldLabel, fromDocument, toDocument } from "./record";

const TENANT = "ten_us_00000000000000000000000000000001";

describe("a policy record's form", () => {
  it("sets nothing a field leaves empty", () => {
    const form = { ...emptyForm("tenant"), name: "  Quiet  " };
    expect(toDocument(form, TENANT)).toEqual({
      name: "Quiet",
      scope: { level: "tenant", tenant_id: TENANT },
      rules: {},
    });
  });

  it("makes every part of the rules it is given", () => {
    const form = {
      ...emptyForm("tenant_module"),
      name: "Triage, metadata only",
      moduleId: "itsm-triage-agent",
      allowKinds: "anthropic, openai",
      denyModels: "gpt-3.5-turbo",
      sendContent: "no" as const,
      redactionRequired: true,
      perRequestCeiling: "8000",
      monthlyBudget: "1000000",
      overBudget: "deny" as const,
      gates: { ...emptyForm("tenant").gates, ticket_update: "L2", read: "L0" },
      defaultGate: "L3",
      connectors: "halopsa",
      healthSubmitters: "Runtime",
      healthMaxAge: "600",
    };
    const document = toDocument(form, TENANT);
    expect(document).toEqual({
      name: "Triage, metadata only",
      scope: { level: "tenant_module", tenant_id: TENANT, module_id: "itsm-triage-agent" },
      rules: {
        providers: { allow_kinds: ["anthropic", "openai"], deny_models: ["gpt-3.5-turbo"] },
        content: { send_to_provider: false, redaction_required: true },
        tokens: { per_request_ceiling: 8000, monthly_budget: 1000000, over_budget: "deny" },
        gates: { read: "L0", ticket_update: "L2" },
        default_gate: "L3",
        connectors: { allow: ["halopsa"] },
        health: { submitters: ["Runtime"], max_age_seconds: 600 },
      },
    });
    // A version's document opens as the same form, to draft the next one from.
    expect(toDocument(fromDocument(document), TENANT)).toEqual(document);
  });

  it("keeps a gate of an action class the form does not list", () => {
    const form = fromDocument({ name: "x", scope: { level: "platform" }, rules: { gates: { billing: "L1" } } });
    expect(form.gates.billing).toBe("L1");
    expect(toDocument(form)).toEqual({ name: "x", scope: { level: "platform" }, rules: { gates: { billing: "L1" } } });
  });

  it("passes a number it cannot read to the schema as typed", () => {
    const form = { ...emptyForm("platform"), name: "x", perRequestCeiling: "12k" };
    expect(toDocument(form).rules).toEqual({ tokens: { per_request_ceiling: "12k" } });
  });

  it("names fields as people read them", () => {
    expect(fieldLabel("tokens.monthly_budget")).toBe("Tokens a month (budget)");
    expect(fieldLabel("gates.ticket_update")).toBe("Gate: ticket_update");
    expect(fieldLabel("something.new")).toBe("something.new");
  });

  it("shows a budget's share used", () => {
    expect(budgetShare(250, 1000)).toBe("25.0%");
    expect(budgetShare(1, 0)).toBe("over 100%");
  });
});
