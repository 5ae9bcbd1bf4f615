import { useQuery } from "@tanstack/react-query";
import { NavLink, Outlet, useNavigate, useOutletContext, useParams } from "react-router";
import { ApiFailure, registry, unwrap } from "../api/client";
import type { components } from "../api/generated/tenant-registry";
import { usePermissions } from "../access";
import { Badge } from "../ui/Badge";
import { ProblemView } from "./ProblemView";

export type Tenant = components["schemas"]["Tenant"];

/** What every screen of the selected tenant works with. */
export interface TenantScope {
  tenant: Tenant;
  can: ReturnType<typeof usePermissions>["can"];
}

/** The configured tenants a selector offers: the first 200 the caller reaches. */
export function useConfiguredTenants() {
  return useQuery({
    queryKey: ["tenants", "selector"],
    queryFn: async () => unwrap(await registry.GET("/admin/tenants", { params: { query: { limit: 200 } } })),
  });
}

/** The selected tenant of a screen under `/tenants/:tenantId`. */
export function useTenantScope(): TenantScope {
  return useOutletContext<TenantScope>();
}

/** The selected tenant's frame: the "Selected tenant" bar with the tenant
 * selector, the tenant's screens, and nothing of any other tenant. A tenant of
 * the other region opens in that region's console. */
export function TenantContext() {
  const { tenantId = "" } = useParams();
  const tenant = useQuery({
    queryKey: ["tenant", tenantId],
    queryFn: async () =>
      unwrap(await registry.GET("/admin/tenants/{tenant_id}", { params: { path: { tenant_id: tenantId } } })),
    retry: false,
  });
  const access = usePermissions(tenantId);
  if (tenant.isPending || access.isPending) return <p>Loading the tenant…</p>;
  if (tenant.isError) {
    const problem = tenant.error instanceof ApiFailure ? tenant.error.problem : undefined;
    if (problem?.code === "wrong_region" && problem.region_base_url) {
      return (
        <section aria-labelledby="elsewhere">
          <h1 id="elsewhere">This tenant lives in {problem.region?.toUpperCase()}</h1>
          <p>
            Its data stays in its region.{" "}
            <a href={`${problem.region_base_url.replace(/\/$/, "")}/tenants/${tenantId}`}>
              Open it in the {problem.region?.toUpperCase()} console
            </a>
            .
          </p>
        </section>
      );
    }
    return <ProblemView error={tenant.error} />;
  }
  if (access.isError) return <ProblemView error={access.error} />;
  const scope: TenantScope = { tenant: tenant.data, can: access.can };
  return (
    <>
      <SelectedTenantBar tenant={tenant.data} roles={access.data.roles} />
      <nav aria-label="Tenant" className="subnav">
        <NavLink to="" end>
          Tenant
        </NavLink>
        <NavLink to="workspaces">Workspaces</NavLink>
        <NavLink to="access">Access</NavLink>
        <NavLink to="packs">Packs</NavLink>
        <NavLink to="modules">Modules</NavLink>
        <NavLink to="providers">AI providers</NavLink>
        <NavLink to="connectors">Connectors</NavLink>
        <NavLink to="policy">AI policy</NavLink>
        <NavLink to="workflows">Workflows</NavLink>
        <NavLink to="runs">Runs</NavLink>
        <NavLink to="approvals">Approvals</NavLink>
        <NavLink to="ops">Ops</NavLink>
        {access.can("audit_log", "read") && <NavLink to="audit">Audit</NavLink>}
      </nav>
      <Outlet context={scope} />
    </>
  );
}

/** "Selected tenant": which tenant every action below acts in, and a selector
 * to move to another of the configured tenants. */
function SelectedTenantBar({ tenant, roles }: { tenant: Tenant; roles: string[] }) {
  const navigate = useNavigate();
  const configured = useConfiguredTenants();
  const others = configured.data?.items ?? [tenant];
  return (
    <div className="selected-tenant" role="region" aria-label="Selected tenant">
      <span>
        Selected tenant: <strong>{tenant.display_name}</strong> <code>{tenant.slug}</code> ·{" "}
        {tenant.region.toUpperCase()} · <Badge status={tenant.status} />
        {roles.length > 0 && <> · you act as {roles.join(", ")}</>}
      </span>
      <label>
        Configured tenants{" "}
        <select
          value={tenant.tenant_id}
          onChange={(e) => navigate(`/tenants/${e.target.value}`)}
        >
          {(others.some((t) => t.tenant_id === tenant.tenant_id) ? others : [tenant, ...others]).map((t) => (
            <option key={t.tenant_id} value={t.tenant_id}>
              {t.display_name} ({t.slug})
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
