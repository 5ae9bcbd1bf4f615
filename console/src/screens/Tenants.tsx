import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { usePermissions } from "../access";
import { registry, unwrap } from "../api/client";
import type { operations } from "../api/generated/tenant-registry";
import { Badge } from "../ui/Badge";
import { Pager, useCursors } from "../ui/Pager";
import { ProblemView } from "./ProblemView";

/** The listing's filters, as the registry's document types them. */
type Filter = Pick<
  NonNullable<operations["tenant_list"]["parameters"]["query"]>,
  "status" | "deployment_model" | "data_mode"
>;

const STATUSES = ["PENDING", "ONBOARDING", "ACTIVE", "SUSPENDED", "OFFBOARDING", "OFFBOARDED"] as const;

/** Configured tenants: status, region, deployment model and data mode, a page
 * at a time. */
export function Tenants() {
  const { can } = usePermissions();
  const paging = useCursors();
  const [filter, setFilter] = useState<Filter>({});
  const cursor = paging.cursor;
  const page = useQuery({
    queryKey: ["tenants", filter, cursor ?? ""],
    queryFn: async () =>
      unwrap(await registry.GET("/admin/tenants", { params: { query: { limit: 50, cursor, ...filter } } })),
  });
  const choose = (key: keyof Filter, value: string) => {
    paging.reset();
    setFilter({ ...filter, [key]: value || undefined } as Filter);
  };
  return (
    <section aria-labelledby="tenants">
      <h1 id="tenants">Configured tenants</h1>
      {can("tenant", "create") && (
        <p>
          <Link to="/tenants/new" className="button">
            Register tenant workspace
          </Link>
        </p>
      )}
      <form aria-label="Filter tenants" className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status{" "}
          <select value={filter.status ?? ""} onChange={(e) => choose("status", e.target.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Deployment model{" "}
          <select value={filter.deployment_model ?? ""} onChange={(e) => choose("deployment_model", e.target.value)}>
            <option value="">any</option>
            <option value="hosted_saas">hosted_saas</option>
            <option value="self_hosted_enterprise">self_hosted_enterprise</option>
            <option value="hybrid">hybrid</option>
          </select>
        </label>
        <label>
          Data mode{" "}
          <select value={filter.data_mode ?? ""} onChange={(e) => choose("data_mode", e.target.value)}>
            <option value="">any</option>
            <option value="metadata_only">metadata_only</option>
            <option value="content">content</option>
          </select>
        </label>
      </form>
      {page.isPending && <p>Loading tenants…</p>}
      {page.isError && <ProblemView error={page.error} />}
      {page.data && page.data.items.length === 0 && (
        <p>{Object.values(filter).some(Boolean) ? "No tenant matches." : "No tenant is registered yet."}</p>
      )}
      {page.data && page.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Status</th>
              <th scope="col">Region</th>
              <th scope="col">Deployment model</th>
              <th scope="col">Data mode</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((t) => (
              <tr key={t.tenant_id}>
                <td>
                  <Link to={`/tenants/${t.tenant_id}`}>{t.display_name}</Link> <code>{t.slug}</code>
                </td>
                <td>
                  <Badge status={t.status} />
                </td>
                <td>{t.region}</td>
                <td>{t.deployment_model}</td>
                <td>{t.data_mode}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager paging={paging} next={page.data?.next_cursor} />
    </section>
  );
}
