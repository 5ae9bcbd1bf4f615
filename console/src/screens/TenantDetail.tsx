import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { ApiFailure, packs, registry, unwrap } from "../api/client";
import type { components } from "../api/generated/tenant-registry";
import { Badge } from "../ui/Badge";
import { Confirm } from "../ui/Confirm";
import { commaList } from "../ui/list";
import { when } from "../ui/when";
import { ProblemView } from "./ProblemView";
import { type Tenant, useTenantScope } from "./TenantContext";

type ChecklistItem = components["schemas"]["ChecklistItem"];

/** A tenant: its lifecycle, its onboarding readiness checklist, its
 * offboarding with each service's cleanup guidance, and its entitlements. */
export function TenantDetail() {
  const { tenant } = useTenantScope();
  return (
    <section aria-labelledby="tenant">
      <h1 id="tenant">{tenant.display_name}</h1>
      <Lifecycle tenant={tenant} />
      <Onboarding tenant={tenant} />
      <Offboarding tenant={tenant} />
      <ActiveConfiguration tenant={tenant} />
      <EntitlementsView tenant={tenant} />
    </section>
  );
}

/** Answers the tenant's queries anew after a change. */
function useRefresh(tenantId: string) {
  const queries = useQueryClient();
  return () =>
    Promise.all([
      queries.invalidateQueries({ queryKey: ["tenant", tenantId] }),
      queries.invalidateQueries({ queryKey: ["tenants"] }),
      queries.invalidateQueries({ queryKey: ["onboarding", tenantId] }),
      queries.invalidateQueries({ queryKey: ["offboarding", tenantId] }),
      queries.invalidateQueries({ queryKey: ["entitlements", tenantId] }),
    ]);
}

function Lifecycle({ tenant }: { tenant: Tenant }) {
  const { can } = useTenantScope();
  const refresh = useRefresh(tenant.tenant_id);
  const [reason, setReason] = useState("");
  const change = useMutation({
    mutationFn: async (status: "ACTIVE" | "SUSPENDED") =>
      unwrap(
        await registry.PATCH("/admin/tenants/{tenant_id}/status", {
          params: { path: { tenant_id: tenant.tenant_id } },
          body: { status, reason: reason || null },
        }),
      ),
    onSuccess: refresh,
  });
  return (
    <>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <Badge status={tenant.status} />
        </dd>
        <dt>Region</dt>
        <dd>{tenant.region.toUpperCase()}</dd>
        <dt>Deployment model</dt>
        <dd>{tenant.deployment_model}</dd>
        <dt>Data mode</dt>
        <dd>{tenant.data_mode}</dd>
        <dt>Owner</dt>
        <dd>
          {tenant.owner_contact.name} &lt;{tenant.owner_contact.email}&gt;
        </dd>
        <dt>Registered</dt>
        <dd>
          {when(tenant.created_at)} by {tenant.created_by}
        </dd>
      </dl>
      {can("tenant_status", "update") && tenant.status === "ACTIVE" && (
        <Confirm label="Suspend tenant" title={`Suspend ${tenant.display_name}?`} onConfirm={() => change.mutate("SUSPENDED")}>
          <p>Its people and its runtime stop acting until it is reactivated. Nothing is deleted.</p>
          <label>
            Reason <input value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
        </Confirm>
      )}
      {can("tenant_status", "update") && tenant.status === "SUSPENDED" && (
        <Confirm label="Reactivate tenant" title={`Reactivate ${tenant.display_name}?`} onConfirm={() => change.mutate("ACTIVE")}>
          <p>Its people and its runtime act again with their current configuration.</p>
        </Confirm>
      )}
      {change.isError && <ProblemView error={change.error} />}
    </>
  );
}

/** A checklist's items: who or what satisfies each, its state, and — for
 * whoever may — the operator's confirmation of a manual item and a retry of a
 * failed one. */
function Checklist({
  label,
  items,
  canAct,
  act,
}: {
  label: string;
  items: ChecklistItem[];
  canAct: boolean;
  act: (key: string, how: "confirm" | "retry") => void;
}) {
  return (
    <table>
      <caption>{label}</caption>
      <thead>
        <tr>
          <th scope="col">Item</th>
          <th scope="col">Satisfied by</th>
          <th scope="col">State</th>
          <th scope="col">Last change</th>
          {canAct && <th scope="col">Action</th>}
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.key}>
            <td>
              <strong>{item.key}</strong>
              <div>{item.description}</div>
            </td>
            <td>{item.owner}</td>
            <td>
              <Badge status={item.state} />
              {item.reason && <div>{item.reason}</div>}
            </td>
            <td>{when(item.updated_at)}</td>
            {canAct && (
              <td>
                {item.owner === "operator" && item.state !== "satisfied" && (
                  <button type="button" onClick={() => act(item.key, "confirm")}>
                    Confirm {item.key}
                  </button>
                )}
                {item.owner !== "operator" && item.state === "failed" && (
                  <button type="button" onClick={() => act(item.key, "retry")}>
                    Retry {item.key}
                  </button>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Not found is an answer here: no checklist opened yet. */
function orNothing<T>(fetch: () => Promise<T>) {
  return async () => {
    try {
      return await fetch();
    } catch (e) {
      if (e instanceof ApiFailure && e.problem.status === 404) return null;
      throw e;
    }
  };
}

function Onboarding({ tenant }: { tenant: Tenant }) {
  const { can } = useTenantScope();
  const refresh = useRefresh(tenant.tenant_id);
  const path = { tenant_id: tenant.tenant_id };
  const onboarding = useQuery({
    queryKey: ["onboarding", tenant.tenant_id],
    queryFn: orNothing(async () =>
      unwrap(await registry.GET("/admin/tenants/{tenant_id}/onboarding", { params: { path } })),
    ),
  });
  const request = useMutation({
    mutationFn: async () =>
      unwrap(await registry.POST("/admin/tenants/{tenant_id}/onboarding", { params: { path }, body: {} })),
    onSuccess: refresh,
  });
  const act = useMutation({
    mutationFn: async ({ key, how }: { key: string; how: "confirm" | "retry" }) =>
      unwrap(
        how === "confirm"
          ? await registry.POST("/admin/tenants/{tenant_id}/onboarding/items/{key}/confirm", {
              params: { path: { ...path, key } },
            })
          : await registry.POST("/admin/tenants/{tenant_id}/onboarding/items/{key}/retry", {
              params: { path: { ...path, key } },
            }),
      ),
    onSuccess: refresh,
  });
  return (
    <section aria-labelledby="onboarding">
      <h2 id="onboarding">Onboarding readiness</h2>
      {onboarding.isPending && <p>Loading the checklist…</p>}
      {onboarding.isError && <ProblemView error={onboarding.error} />}
      {onboarding.data === null && <p>Activation has not been requested.</p>}
      {onboarding.data === null && tenant.status === "PENDING" && can("onboarding", "create") && (
        <Confirm
          label="Request activation"
          title={`Request ${tenant.display_name}'s activation?`}
          onConfirm={() => request.mutate()}
        >
          <p>
            Opens the readiness checklist: every service prepares the tenant, and the manual items wait for an
            operator's confirmation. The tenant becomes ACTIVE when every item is satisfied.
          </p>
        </Confirm>
      )}
      {onboarding.data && (
        <>
          <p>
            Requested {when(onboarding.data.requested_at)} by {onboarding.data.requested_by}
            {onboarding.data.completed_at && <>; completed {when(onboarding.data.completed_at)}</>}.
          </p>
          <Checklist
            label="Readiness checklist"
            items={onboarding.data.items}
            canAct={can("onboarding", "update") && !onboarding.data.completed_at}
            act={(key, how) => act.mutate({ key, how })}
          />
        </>
      )}
      {request.isError && <ProblemView error={request.error} />}
      {act.isError && <ProblemView error={act.error} />}
    </section>
  );
}

function Offboarding({ tenant }: { tenant: Tenant }) {
  const { can } = useTenantScope();
  const refresh = useRefresh(tenant.tenant_id);
  const path = { tenant_id: tenant.tenant_id };
  const [reason, setReason] = useState("");
  const offboarding = useQuery({
    queryKey: ["offboarding", tenant.tenant_id],
    queryFn: orNothing(async () =>
      unwrap(await registry.GET("/admin/tenants/{tenant_id}/offboarding", { params: { path } })),
    ),
  });
  const request = useMutation({
    mutationFn: async () =>
      unwrap(await registry.POST("/admin/tenants/{tenant_id}/offboarding", { params: { path }, body: { reason } })),
    onSuccess: refresh,
  });
  const act = useMutation({
    mutationFn: async ({ key, how }: { key: string; how: "confirm" | "retry" }) =>
      unwrap(
        how === "confirm"
          ? await registry.POST("/admin/tenants/{tenant_id}/offboarding/items/{key}/confirm", {
              params: { path: { ...path, key } },
            })
          : await registry.POST("/admin/tenants/{tenant_id}/offboarding/items/{key}/retry", {
              params: { path: { ...path, key } },
            }),
      ),
    onSuccess: refresh,
  });
  const offerable = offboarding.data === null && tenant.status === "SUSPENDED" && can("offboarding", "create");
  if (offboarding.data === null && !offerable) return null;
  return (
    <section aria-labelledby="offboarding">
      <h2 id="offboarding">Offboarding</h2>
      {offboarding.isError && <ProblemView error={offboarding.error} />}
      {offerable && (
        <Confirm label="Offboard tenant" title={`Offboard ${tenant.display_name}?`} onConfirm={() => request.mutate()}>
          <p>
            Every service removes the tenant's data and returns its cleanup guidance; the tenant ends OFFBOARDED
            and cannot be reactivated.
          </p>
          <label>
            Reason (required) <input required value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
        </Confirm>
      )}
      {offboarding.data && (
        <>
          <p>
            Requested {when(offboarding.data.requested_at)} by {offboarding.data.requested_by}: {offboarding.data.reason}
          </p>
          <Checklist
            label="Cleanup checklist, with each service's guidance"
            items={offboarding.data.items}
            canAct={can("offboarding", "update") && !offboarding.data.completed_at}
            act={(key, how) => act.mutate({ key, how })}
          />
        </>
      )}
      {request.isError && <ProblemView error={request.error} />}
      {act.isError && <ProblemView error={act.error} />}
    </section>
  );
}

/** What the tenant runs, in short; its packs screen has the rest. */
function ActiveConfiguration({ tenant }: { tenant: Tenant }) {
  const active = useQuery({
    queryKey: ["active-config", tenant.tenant_id],
    queryFn: async () =>
      unwrap(
        await packs.GET("/admin/packs/tenant/{tenant_id}/active", { params: { path: { tenant_id: tenant.tenant_id } } }),
      ),
  });
  const current = active.data?.active;
  return (
    <section aria-labelledby="active-config">
      <h2 id="active-config">Active configuration</h2>
      {active.isPending && <p>Loading the active configuration…</p>}
      {active.isError && <ProblemView error={active.error} />}
      {active.data && !current && <p>Nothing is active yet.</p>}
      {current && (
        <p>
          {current.domain} {current.domain_pack_version}
          {current.tenant_pack_version && ` + Tenant Pack ${current.tenant_pack_version}`} <Badge status="ACTIVE" />{" "}
          since {when(current.activated_at)} by {current.activated_by}.
        </p>
      )}
      <Link to="packs">The tenant's packs</Link>
    </section>
  );
}

function EntitlementsView({ tenant }: { tenant: Tenant }) {
  const { can } = useTenantScope();
  const [editing, setEditing] = useState(false);
  const path = { tenant_id: tenant.tenant_id };
  const entitlements = useQuery({
    queryKey: ["entitlements", tenant.tenant_id],
    queryFn: async () => {
      const [granted, status] = await Promise.all([
        registry.GET("/admin/tenants/{tenant_id}/entitlements", { params: { path } }).then(unwrap),
        registry.GET("/admin/tenants/{tenant_id}/entitlements/status", { params: { path } }).then(unwrap),
      ]);
      return { granted, status };
    },
  });
  return (
    <section aria-labelledby="entitlements">
      <h2 id="entitlements">Entitlements</h2>
      {entitlements.isPending && <p>Loading entitlements…</p>}
      {entitlements.isError && <ProblemView error={entitlements.error} />}
      {entitlements.data && (
        <dl className="facts">
          <dt>Entitlement status</dt>
          <dd>
            <Badge status={entitlements.data.status.active ? "ACTIVE" : "INACTIVE"} />
            {entitlements.data.status.reason && <> {entitlements.data.status.reason}</>}
          </dd>
          <dt>Plan</dt>
          <dd>
            {entitlements.data.granted.plan}
            {entitlements.data.granted.defaulted && " (the platform's default)"}
          </dd>
          <dt>Modules</dt>
          <dd>{entitlements.data.granted.modules.join(", ") || "none"}</dd>
          <dt>Workspaces</dt>
          <dd>
            {entitlements.data.status.workspaces.used} of {entitlements.data.status.workspaces.limit}
          </dd>
          <dt>API rate</dt>
          <dd>{entitlements.data.granted.api_rate_per_second} requests a second</dd>
          <dt>Provider connections</dt>
          <dd>at most {entitlements.data.granted.max_provider_connections}</dd>
          <dt>Monthly token budget</dt>
          <dd>{entitlements.data.granted.monthly_token_budget}</dd>
        </dl>
      )}
      {entitlements.data && can("entitlement", "update") && !editing && (
        <button type="button" onClick={() => setEditing(true)}>
          Change entitlements
        </button>
      )}
      {entitlements.data && editing && (
        <EntitlementsForm tenant={tenant} granted={entitlements.data.granted} done={() => setEditing(false)} />
      )}
    </section>
  );
}

/** Changes a tenant's plan, modules and quotas. */
function EntitlementsForm({
  tenant,
  granted,
  done,
}: {
  tenant: Tenant;
  granted: components["schemas"]["Entitlements"];
  done: () => void;
}) {
  const refresh = useRefresh(tenant.tenant_id);
  const [plan, setPlan] = useState(granted.plan);
  const [modules, setModules] = useState(granted.modules.join(", "));
  const [numbers, setNumbers] = useState({
    api_rate_per_second: String(granted.api_rate_per_second),
    max_workspaces: String(granted.max_workspaces),
    max_provider_connections: String(granted.max_provider_connections),
    monthly_token_budget: String(granted.monthly_token_budget),
  });
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        await registry.PUT("/admin/tenants/{tenant_id}/entitlements", {
          params: { path: { tenant_id: tenant.tenant_id } },
          body: {
            plan,
            modules: commaList(modules),
            api_rate_per_second: Number(numbers.api_rate_per_second),
            max_workspaces: Number(numbers.max_workspaces),
            max_provider_connections: Number(numbers.max_provider_connections),
            monthly_token_budget: Number(numbers.monthly_token_budget),
          },
        }),
      ),
    onSuccess: async () => {
      await refresh();
      done();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const number = (key: keyof typeof numbers, label: string) => (
    <div className="field">
      <label htmlFor={`ent-${key}`}>{label}</label>
      <input
        id={`ent-${key}`}
        type="number"
        min={0}
        required
        value={numbers[key]}
        onChange={(e) => setNumbers({ ...numbers, [key]: e.target.value })}
      />
    </div>
  );
  return (
    <form onSubmit={submit} aria-label="Change entitlements">
      <div className="field">
        <label htmlFor="ent-plan">Plan</label>
        <input id="ent-plan" required value={plan} onChange={(e) => setPlan(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="ent-modules">Modules (comma-separated)</label>
        <input id="ent-modules" value={modules} onChange={(e) => setModules(e.target.value)} />
      </div>
      {number("api_rate_per_second", "API rate (requests a second)")}
      {number("max_workspaces", "Workspaces at most")}
      {number("max_provider_connections", "Provider connections at most")}
      {number("monthly_token_budget", "Monthly token budget")}
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          Save entitlements
        </button>
        <button type="button" onClick={done}>
          Cancel
        </button>
      </div>
      {save.isError && <ProblemView error={save.error} />}
    </form>
  );
}
