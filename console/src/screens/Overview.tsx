import { useQuery } from "@tanstack/react-query";
import { registry, unwrap } from "../api/client";
import { usePermissions } from "../access";
import { me, regionReadiness } from "../api/gateway";
import { ProblemView } from "./ProblemView";
import { countBy } from "./count";

/** The platform overview: the operating model, tenants by status and region,
 * and the readiness of every service of this region. */
export function Overview() {
  const tenants = useQuery({
    queryKey: ["tenants", "overview"],
    queryFn: async () => unwrap(await registry.GET("/admin/tenants", { params: { query: { limit: 200 } } })),
  });
  const session = useQuery({ queryKey: ["me"], queryFn: me, retry: false });
  const access = usePermissions();
  // The region's readiness is the platform team's to read.
  const readiness = useQuery({
    queryKey: ["readiness"],
    queryFn: regionReadiness,
    retry: false,
    enabled: access.data?.platform_wide === true,
  });
  const region = session.data?.region ?? "";
  return (
    <section aria-labelledby="overview">
      <h1 id="overview">Platform overview</h1>
      <p>
        Platform management owns trust: modules, packs and policies are reviewed here before any
        tenant can use them. Tenant management owns enablement: each tenant turns on what the
        platform trusts, in its own region.
      </p>
      <h2>You</h2>
      {session.data && access.data && (
        <dl className="facts">
          <dt>Signed in as</dt>
          <dd>{session.data.email ?? session.data.subject}</dd>
          <dt>Roles</dt>
          <dd>{access.data.roles.join(", ") || "none yet: ask your administrator for one"}</dd>
          <dt>Region</dt>
          <dd>
            This console serves {region.toUpperCase()}.
            {session.data.regions
              .filter((r) => r.region !== region)
              .map((r) => (
                <span key={r.region}>
                  {" "}
                  <a href={`${r.base_url.replace(/\/$/, "")}/`}>Open the {r.region.toUpperCase()} console</a>
                </span>
              ))}
          </dd>
        </dl>
      )}
      {access.isError && <ProblemView error={access.error} />}
      <h2>Tenants</h2>
      {tenants.isPending && <p>Loading tenants…</p>}
      {tenants.isError && <ProblemView error={tenants.error} />}
      {tenants.data && tenants.data.items.length === 0 && <p>No tenant is registered yet.</p>}
      {tenants.data && tenants.data.items.length > 0 && (
        <table>
          <caption>
            Tenants by status{tenants.data.next_cursor ? " (first 200)" : ""}
          </caption>
          <tbody>
            {countBy(tenants.data.items, (t) => `${t.status} · ${t.region}`).map(([key, n]) => (
              <tr key={key}>
                <th scope="row">{key}</th>
                <td>{n}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Services in this region</h2>
      {access.data && !access.data.platform_wide && <p>The region's readiness is shown to the platform team.</p>}
      {readiness.isFetching && <p>Asking every service…</p>}
      {readiness.isError && <ProblemView error={readiness.error} />}
      {readiness.data && (
        <ul aria-label="Readiness">
          <li>gateway: {readiness.data.gateway.ready ? "ready" : "not ready"}</li>
          {readiness.data.services.map((s) => (
            <li key={s.service}>
              {s.service}: {s.ready ? "ready" : `not ready${s.reason ? ` (${s.reason})` : ""}`}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
