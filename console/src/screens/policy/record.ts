// An AI policy record as the console's guided form holds it, and the record
// document (`schemas/json/policy-record.schema.json`) it stands for. An empty
// field sets nothing: the record leaves that part to the other scopes.
import { commaList } from "../../ui/list";

/** The action classes the form offers a gate for; a record may name others. */
export const ACTION_CLASSES = [
  "read",
  "notify",
  "ticket_update",
  "config_change",
  "remote_execution",
  "tenant_admin",
] as const;

/** The HITL gate levels, least strict first. */
export const GATES = [
  { level: "L0", label: "L0 · fully automated" },
  { level: "L1", label: "L1 · notify" },
  { level: "L2", label: "L2 · approve to proceed" },
  { level: "L3", label: "L3 · human only" },
] as const;

export type Level = "platform" | "tenant" | "module" | "tenant_module";

/** What the form's fields hold, every one as typed. */
export interface RecordForm {
  name: string;
  description: string;
  level: Level;
  moduleId: string;
  allowKinds: string;
  denyKinds: string;
  allowModels: string;
  denyModels: string;
  /** "" sets nothing; "yes" or "no". */
  sendContent: "" | "yes" | "no";
  redactionRequired: boolean;
  perRequestCeiling: string;
  monthlyBudget: string;
  overBudget: "" | "require_approval" | "deny";
  /** The gate of each action class; "" sets nothing. */
  gates: Record<string, string>;
  defaultGate: string;
  connectors: string;
  healthSubmitters: string;
  healthMaxAge: string;
}

export function emptyForm(level: Level): RecordForm {
  return {
    name: "",
    description: "",
    level,
    moduleId: "",
    allowKinds: "",
    denyKinds: "",
    allowModels: "",
    denyModels: "",
    sendContent: "",
    redactionRequired: false,
    perRequestCeiling: "",
    monthlyBudget: "",
    overBudget: "",
    gates: Object.fromEntries(ACTION_CLASSES.map((c) => [c, ""])),
    defaultGate: "",
    connectors: "",
    healthSubmitters: "",
    healthMaxAge: "",
  };
}

type Json = Record<string, unknown>;

/** A number as typed, or the text itself for the schema to refuse. */
function count(text: string): number | string {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** Only the parts that are set: `undefined` when nothing is. */
function part(entries: [string, unknown][]): Json | undefined {
  const set = entries.filter(([, value]) => value !== undefined);
  return set.length > 0 ? Object.fromEntries(set) : undefined;
}

const names = (text: string) => (text.trim() ? commaList(text) : undefined);
const text = (value: string) => (value.trim() ? value.trim() : undefined);

/** The record document of `form`, for the scope's `tenantId` (tenant levels). */
export function toDocument(form: RecordForm, tenantId?: string): Json {
  const scope: Json = { level: form.level };
  if ((form.level === "tenant" || form.level === "tenant_module") && tenantId) scope.tenant_id = tenantId;
  if (form.level === "module" || form.level === "tenant_module") scope.module_id = form.moduleId.trim();
  const gates = Object.entries(form.gates).filter(([, gate]) => gate !== "");
  const rules = part([
    [
      "providers",
      part([
        ["allow_kinds", names(form.allowKinds)],
        ["deny_kinds", names(form.denyKinds)],
        ["allow_models", names(form.allowModels)],
        ["deny_models", names(form.denyModels)],
      ]),
    ],
    [
      "content",
      part([
        ["send_to_provider", form.sendContent === "" ? undefined : form.sendContent === "yes"],
        ["redaction_required", form.redactionRequired ? true : undefined],
      ]),
    ],
    [
      "tokens",
      part([
        ["per_request_ceiling", text(form.perRequestCeiling) && count(form.perRequestCeiling)],
        ["monthly_budget", text(form.monthlyBudget) && count(form.monthlyBudget)],
        ["over_budget", form.overBudget || undefined],
      ]),
    ],
    ["gates", gates.length > 0 ? Object.fromEntries(gates) : undefined],
    ["default_gate", form.defaultGate || undefined],
    ["connectors", part([["allow", names(form.connectors)]])],
    [
      "health",
      part([
        ["submitters", names(form.healthSubmitters)],
        ["max_age_seconds", text(form.healthMaxAge) && count(form.healthMaxAge)],
      ]),
    ],
  ]);
  return {
    name: form.name.trim(),
    ...(text(form.description) ? { description: form.description.trim() } : {}),
    scope,
    rules: rules ?? {},
  };
}

const object = (value: unknown): Json =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
const list = (value: unknown) => (Array.isArray(value) ? value.join(", ") : "");
const number = (value: unknown) => (typeof value === "number" ? String(value) : "");

/** The form of a record `document` (a version's), to draft the next version from. */
export function fromDocument(document: unknown): RecordForm {
  const doc = object(document);
  const scope = object(doc.scope);
  const rules = object(doc.rules);
  const providers = object(rules.providers);
  const content = object(rules.content);
  const tokens = object(rules.tokens);
  const connectors = object(rules.connectors);
  const health = object(rules.health);
  const form = emptyForm((scope.level as Level) ?? "tenant");
  const gates = { ...form.gates };
  for (const [action, gate] of Object.entries(object(rules.gates))) gates[action] = String(gate);
  const send = content.send_to_provider;
  return {
    ...form,
    name: typeof doc.name === "string" ? doc.name : "",
    description: typeof doc.description === "string" ? doc.description : "",
    moduleId: typeof scope.module_id === "string" ? scope.module_id : "",
    allowKinds: list(providers.allow_kinds),
    denyKinds: list(providers.deny_kinds),
    allowModels: list(providers.allow_models),
    denyModels: list(providers.deny_models),
    sendContent: send === true ? "yes" : send === false ? "no" : "",
    redactionRequired: content.redaction_required === true,
    perRequestCeiling: number(tokens.per_request_ceiling),
    monthlyBudget: number(tokens.monthly_budget),
    overBudget: tokens.over_budget === "deny" || tokens.over_budget === "require_approval" ? tokens.over_budget : "",
    gates,
    defaultGate: typeof rules.default_gate === "string" ? rules.default_gate : "",
    connectors: list(connectors.allow),
    healthSubmitters: list(health.submitters),
    healthMaxAge: number(health.max_age_seconds),
  };
}

/** A field of the effective policy (`tokens.monthly_budget`,
 * `gates.ticket_update`) as a person reads it. */
export function fieldLabel(field: string): string {
  const [part, rest] = field.split(".", 2);
  const labels: Record<string, string> = {
    "providers.allow_kinds": "Provider kinds allowed",
    "providers.deny_kinds": "Provider kinds denied",
    "providers.allow_models": "Models allowed",
    "providers.deny_models": "Models denied",
    "content.send_to_provider": "Content sent to providers",
    "content.redaction_required": "Redaction required",
    "tokens.per_request_ceiling": "Tokens per request (ceiling)",
    "tokens.monthly_budget": "Tokens a month (budget)",
    "tokens.over_budget": "Over budget",
    default_gate: "Gate of other action classes",
    "connectors.allow": "Connectors allowed",
    "health.submitters": "Health results accepted from",
    "health.max_age_seconds": "Health results' maximum age (s)",
  };
  if (part === "gates" && rest) return `Gate: ${rest}`;
  return labels[field] ?? field;
}
