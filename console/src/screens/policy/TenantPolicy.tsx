import { useMutation, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link } from "react-router";
import { policy, unwrap } from "../../api/client";
import type { components } from "../../api/generated/policy";
import { Badge } from "../../ui/Badge";
import { useReleases } from "../modules/Catalog";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";
import { useWorkspaces } from "../Workspaces";
import { type Decided, type Effective, recordLink, resourceOf } from "./api";
import { ACTION_CLASSES, GATES, fieldLabel } from "./record";
import { GateOptions, NewRecord, RecordList } from "./Records";

type DecisionBody = components["schemas"]["DecisionBody"];

/** The module ids of the catalog, for choosing a module's policy. */
function useModuleIds(): string[] {
  const releases = useReleases();
  return [...new Set((releases.data?.items ?? []).map((r) => r.module_id))].sort();
}

/** The selected tenant's AI policy: what is in force (for the tenant or one of
 * its modules) with the record version that decided each field, the tenant's
 * own records, a decision to try, and this month's usage against the budget. */
export function TenantPolicy() {
  const { tenant, can } = useTenantScope();
  const owner = { tenantId: tenant.tenant_id };
  return (
    <section aria-labelledby="tenant-policy">
      <h1 id="tenant-policy">AI policy of {tenant.display_name}</h1>
      <EffectivePolicy tenantId={tenant.tenant_id} />
      <section aria-labelledby="tenant-records">
        <h2 id="tenant-records">The tenant's records</h2>
        <p>
          The tenant's records tighten the <Link to="/policies">platform and module records</Link>: a lower scope never
          loosens what a higher one sets.
        </p>
        <RecordList owner={owner} />
      </section>
      {can(resourceOf(owner), "create") && <NewRecord owner={owner} />}
      <TryDecision tenantId={tenant.tenant_id} />
      <Usage tenantId={tenant.tenant_id} />
    </section>
  );
}

/** The policy in force, field by field, with who decided each. */
function EffectivePolicy({ tenantId }: { tenantId: string }) {
  const id = useId();
  const moduleIds = useModuleIds();
  const [moduleId, setModuleId] = useState("");
  const effective = useQuery({
    queryKey: ["policy-effective", tenantId, moduleId],
    queryFn: async () =>
      unwrap(
        await policy.GET("/admin/policies/tenants/{tenant_id}/effective", {
          params: { path: { tenant_id: tenantId }, query: { module_id: moduleId || undefined } },
        }),
      ),
  });
  return (
    <section aria-labelledby="effective" className="panel">
      <h2 id="effective">Policy in force</h2>
      <div className="field">
        <label htmlFor={id}>For</label>
        <select id={id} value={moduleId} onChange={(e) => setModuleId(e.target.value)}>
          <option value="">the tenant (every module)</option>
          {moduleIds.map((m) => (
            <option key={m} value={m}>
              module {m}
            </option>
          ))}
        </select>
      </div>
      {effective.isPending && <p>Merging the records in force…</p>}
      {effective.isError && <ProblemView error={effective.error} />}
      {effective.data && (
        <>
          <p>
            Policy version <code>{effective.data.etag}</code>: decisions name it.
          </p>
          <EffectiveTable policy={effective.data.policy} tenantId={tenantId} />
        </>
      )}
    </section>
  );
}

const listed = (set: string[] | null | undefined, none: string) => (set ? set.join(", ") || "none" : none);

/** Each field of `policy` as a person reads it: its value, and the record
 * versions whose setting it is. */
function EffectiveTable({ policy: p, tenantId }: { policy: Effective; tenantId: string }) {
  const rows: [string, string][] = [
    ["providers.allow_kinds", listed(p.allow_kinds, "any")],
    ["providers.deny_kinds", listed(p.deny_kinds, "none")],
    ["providers.allow_models", listed(p.allow_models, "any")],
    ["providers.deny_models", listed(p.deny_models, "none")],
    ["content.send_to_provider", p.send_content ? "allowed" : "not allowed (metadata only)"],
    ["content.redaction_required", p.redaction_required ? "yes" : "no"],
    ["tokens.per_request_ceiling", p.per_request_ceiling?.toLocaleString("en") ?? "no ceiling"],
    ["tokens.monthly_budget", p.monthly_budget?.toLocaleString("en") ?? "no budget"],
    ["tokens.over_budget", p.over_budget === "deny" ? "deny" : "require approval"],
    ...[...new Set([...ACTION_CLASSES, ...Object.keys(p.gates)])].map(
      (action): [string, string] => [`gates.${action}`, gateLabel(p.gates[action] ?? p.default_gate)],
    ),
    ["default_gate", gateLabel(p.default_gate)],
    ["connectors.allow", listed(p.connectors, "any")],
    ["health.submitters", listed(p.health_submitters, "any role that may submit")],
    ["health.max_age_seconds", p.health_max_age_seconds?.toString() ?? "no limit"],
  ];
  return (
    <table aria-label="Policy in force">
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">In force</th>
          <th scope="col">Decided by</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([field, value]) => {
          const decided = p.provenance[field] ?? [];
          const gateDefault = field.startsWith("gates.") && decided.length === 0;
          return (
            <tr key={field}>
              <th scope="row">{fieldLabel(field)}</th>
              <td>{value}</td>
              <td>
                {decided.length > 0 ? (
                  <DecidedBy decided={decided} tenantId={tenantId} />
                ) : gateDefault ? (
                  "the gate of other action classes"
                ) : (
                  "no record sets it"
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const gateLabel = (gate: string) => GATES.find((g) => g.level === gate)?.label ?? gate;

/** The record versions that decided a field, each a link to its record. */
function DecidedBy({ decided, tenantId }: { decided: Decided[]; tenantId: string }) {
  return (
    <>
      {decided.map((d, i) => {
        const link = recordLink(d, tenantId);
        const text = d.record_id === "entitlement" ? "the tenant's entitlement" : `${d.level} ${d.record_id} v${d.version}`;
        return (
          <span key={`${d.record_id}-${d.version}`}>
            {i > 0 && ", "}
            {link ? <Link to={link}>{text}</Link> : text}
          </span>
        );
      })}
    </>
  );
}

/** A step as the runtime would ask about it, and the decision the policy in
 * force gives it — nothing is recorded. */
function TryDecision({ tenantId }: { tenantId: string }) {
  const id = useId();
  const field = (name: string) => `${id}-${name}`;
  const moduleIds = useModuleIds();
  const workspaces = useWorkspaces(tenantId);
  const [form, setForm] = useState({
    action: "ticket_update",
    moduleId: "",
    workspaceId: "",
    kind: "",
    model: "",
    tokens: "0",
    content: false,
    connector: "",
    tier: "",
  });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });
  const decide = useMutation({
    mutationFn: async () => {
      const body: DecisionBody = {
        action_class: form.action,
        module_id: form.moduleId || null,
        workspace_id: form.workspaceId || null,
        provider_kind: form.kind || null,
        model: form.model.trim() || null,
        estimated_tokens: Number(form.tokens) || 0,
        content_included: form.content,
        connector: form.connector.trim() || null,
        workspace_tier: form.tier || null,
      };
      return unwrap(
        await policy.POST("/runtime/policy/tenants/{tenant_id}/decisions", {
          params: { path: { tenant_id: tenantId } },
          body,
        }),
      );
    },
  });
  return (
    <section aria-labelledby="try-decision" className="panel">
      <h2 id="try-decision">Try a decision</h2>
      <p>What the runtime would be told for a step like this one, under the policy in force now.</p>
      <form
        data-asks-only
        onSubmit={(e) => {
          e.preventDefault();
          decide.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={field("action")}>Action class</label>
          <select id={field("action")} value={form.action} onChange={set("action")}>
            {ACTION_CLASSES.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={field("module")}>Module</label>
          <select id={field("module")} value={form.moduleId} onChange={set("moduleId")}>
            <option value="">none</option>
            {moduleIds.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={field("workspace")}>Workspace</label>
          <select id={field("workspace")} value={form.workspaceId} onChange={set("workspaceId")}>
            <option value="">none</option>
            {(workspaces.data?.items ?? []).map((w) => (
              <option key={w.workspace_id} value={w.workspace_id}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={field("tier")}>Workspace approval tier</label>
          <select id={field("tier")} value={form.tier} onChange={set("tier")}>
            <GateOptions none="none" />
          </select>
        </div>
        <div className="field">
          <label htmlFor={field("kind")}>Provider kind</label>
          <select id={field("kind")} value={form.kind} onChange={set("kind")}>
            <option value="">no provider call</option>
            <option value="openai">openai</option>
            <option value="azure_openai">azure_openai</option>
            <option value="anthropic">anthropic</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={field("model")}>Model</label>
          <input id={field("model")} value={form.model} onChange={set("model")} />
        </div>
        <div className="field">
          <label htmlFor={field("tokens")}>Estimated tokens</label>
          <input id={field("tokens")} type="number" min={0} value={form.tokens} onChange={set("tokens")} />
        </div>
        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={form.content}
              onChange={(e) => setForm({ ...form, content: e.target.checked })}
            />{" "}
            Ticket content included
          </label>
        </div>
        <div className="field">
          <label htmlFor={field("connector")}>Connector</label>
          <input id={field("connector")} value={form.connector} onChange={set("connector")} />
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={decide.isPending}>
            Decide
          </button>
        </div>
      </form>
      {decide.isError && <ProblemView error={decide.error} />}
      {decide.data && (
        <div aria-label="Decision">
          <p role="status">
            Decision: <Badge status={decide.data.decision} /> at gate {decide.data.gate}
            {decide.data.obligations.length > 0 && <> · obligations: {decide.data.obligations.join(", ")}</>} · policy
            version <code>{decide.data.policy_etag}</code>
          </p>
          <table aria-label="Reasons">
            <thead>
              <tr>
                <th scope="col">Outcome</th>
                <th scope="col">Rule</th>
                <th scope="col">Why</th>
                <th scope="col">Decided by</th>
              </tr>
            </thead>
            <tbody>
              {decide.data.reasons.map((r, i) => (
                <tr key={`${r.code}-${i}`}>
                  <td>
                    <Badge status={r.outcome} />
                  </td>
                  <td>
                    <code>{r.code}</code> ({fieldLabel(r.field)})
                  </td>
                  <td>{r.detail}</td>
                  <td>
                    <DecidedBy decided={r.decided_by} tenantId={tenantId} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The tenant's usage in a month, against its monthly budget. */
function Usage({ tenantId }: { tenantId: string }) {
  const id = useId();
  const [month, setMonth] = useState(new Date().toISOString().slice(0, 7));
  const usage = useQuery({
    queryKey: ["policy-usage", tenantId, month],
    queryFn: async () =>
      unwrap(
        await policy.GET("/admin/policies/tenants/{tenant_id}/usage", {
          params: { path: { tenant_id: tenantId }, query: { month } },
        }),
      ),
  });
  const u = usage.data;
  const spent = u ? u.tokens_in + u.tokens_out : 0;
  return (
    <section aria-labelledby="usage" className="panel">
      <h2 id="usage">Usage and budget</h2>
      <div className="field">
        <label htmlFor={id}>Month</label>
        <input id={id} type="month" value={month} onChange={(e) => e.target.value && setMonth(e.target.value)} />
      </div>
      {usage.isPending && <p>Loading usage…</p>}
      {usage.isError && <ProblemView error={usage.error} />}
      {u && (
        <>
          <p role="status">
            {spent.toLocaleString("en")} tokens used in {u.month} ({u.tokens_in.toLocaleString("en")} in,{" "}
            {u.tokens_out.toLocaleString("en")} out), {u.connector_operations.toLocaleString("en")} connector
            operations
            {u.monthly_budget != null
              ? ` · budget ${u.monthly_budget.toLocaleString("en")} tokens (${budgetShare(spent, u.monthly_budget)} used)`
              : " · no monthly budget"}
          </p>
          {u.monthly_budget != null && (
            <meter aria-label="Budget used" min={0} max={u.monthly_budget} value={Math.min(spent, u.monthly_budget)} />
          )}
          {u.items.length > 0 && (
            <table aria-label="Usage by workspace, module, provider and connector">
              <thead>
                <tr>
                  <th scope="col">Workspace</th>
                  <th scope="col">Module</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Model</th>
                  <th scope="col">Connector</th>
                  <th scope="col">Tokens in</th>
                  <th scope="col">Tokens out</th>
                  <th scope="col">Connector operations</th>
                  <th scope="col">Events</th>
                </tr>
              </thead>
              <tbody>
                {u.items.map((item, i) => (
                  <tr key={i}>
                    <td>{item.workspace_id ?? ""}</td>
                    <td>{item.module_id ?? ""}</td>
                    <td>{item.provider_kind ?? ""}</td>
                    <td>{item.model ?? ""}</td>
                    <td>{item.connector ?? ""}</td>
                    <td>{item.tokens_in.toLocaleString("en")}</td>
                    <td>{item.tokens_out.toLocaleString("en")}</td>
                    <td>{item.connector_operations.toLocaleString("en")}</td>
                    <td>{item.events.toLocaleString("en")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

/** `spent` of `budget` as a percentage, one decimal. */
export function budgetShare(spent: number, budget: number): string {
  if (budget === 0) return spent > 0 ? "over 100%" : "0%";
  return `${((spent / budget) * 100).toFixed(1)}%`;
}
