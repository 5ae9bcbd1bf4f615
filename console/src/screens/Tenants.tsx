import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { usePermissions } from "../access";
import { registry, unwrap } from "../api/client";
import { Badge } from "../ui/Badge";
import { ProblemView } from "./ProblemView";

/** Configured tenants: status, region, deployment model and data mode, a page
 * at a time. */
export function Tenants() {
  const { can } = usePermissions();
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const page = useQuery({
    queryKey: ["tenants", cursor ?? ""],
    queryFn: async () =>
      unwrap(await registry.GET("/admin/tenants", { params: { query: { limit: 50, cursor } } })),
  });
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
      {page.isPending && <p>Loading tenants…</p>}
      {page.isError && <ProblemView error={page.error} />}
      {page.data && page.data.items.length === 0 && <p>No tenant is registered yet.</p>}
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
      <nav aria-label="Pages">
        {cursors.length > 0 && (
          <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
        )}
        {page.data?.next_cursor && (
          <button type="button" onClick={() => setCursors([...cursors, page.data.next_cursor!])}>
            Next page
          </button>
        )}
      </nav>
    </section>
  );
}
