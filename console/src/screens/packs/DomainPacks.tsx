import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, NavLink } from "react-router";
import { usePermissions } from "../../access";
import { packs, unwrap } from "../../api/client";
import { useConfiguredTenants } from "../TenantContext";
import type { components } from "../../api/generated/pack-service";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import { ImportPanel } from "./ImportPanel";

type DomainPack = components["schemas"]["DomainPack"];

/** The two tabs of the packs screen. */
function PackTabs() {
  return (
    <nav aria-label="Packs" className="subnav">
      <NavLink to="/packs" end>
        Domain Packs
      </NavLink>
      <NavLink to="/packs/tenant">Tenant Packs</NavLink>
    </nav>
  );
}

/** Domain Packs: every version by domain with its status (ACTIVE where a
 * tenant runs it, DRAFT, DEPRECATED), importing one from a JSON file after
 * validating it — every problem at its JSON pointer — and deprecating one no
 * tenant runs. Versions are immutable: nothing here edits one. */
export function DomainPacks() {
  const { can } = usePermissions();
  const listed = useQuery({
    queryKey: ["domain-packs"],
    queryFn: async () => unwrap(await packs.GET("/admin/packs/domain")),
  });
  const byDomain = new Map<string, DomainPack[]>();
  for (const pack of listed.data?.items ?? []) {
    byDomain.set(pack.domain, [...(byDomain.get(pack.domain) ?? []), pack]);
  }
  return (
    <section aria-labelledby="packs">
      <h1 id="packs">Packs</h1>
      <PackTabs />
      {can("domain_pack", "create") && <ImportDomainPack />}
      {listed.isPending && <p>Loading Domain Packs…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No Domain Pack is imported yet.</p>}
      {[...byDomain.entries()].map(([domain, versions]) => (
        <table key={domain} aria-label={`Domain ${domain}`}>
          <caption>Domain {domain}</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Tenants running it</th>
              <th scope="col">Imported</th>
              {can("domain_pack", "update") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.pack_id}>
                <td>{v.version}</td>
                <td>{v.name}</td>
                <td>
                  <Badge status={v.status} />
                </td>
                <td>{v.active_tenants}</td>
                <td>
                  {when(v.created_at)} by {v.created_by}
                </td>
                {can("domain_pack", "update") && (
                  <td>{v.status !== "DEPRECATED" && v.active_tenants === 0 && <Deprecate pack={v} />}</td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}

function Deprecate({ pack }: { pack: DomainPack }) {
  const queries = useQueryClient();
  const deprecate = useMutation({
    mutationFn: async () =>
      unwrap(
        await packs.POST("/admin/packs/domain/{domain}/{version}/deprecate", {
          params: { path: { domain: pack.domain, version: pack.version } },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["domain-packs"] }),
  });
  return (
    <>
      <Confirm
        label={`Deprecate ${pack.domain} ${pack.version}`}
        title={`Deprecate ${pack.domain} ${pack.version}?`}
        confirmLabel="Deprecate"
        onConfirm={() => deprecate.mutate()}
      >
        <p>No tenant can activate it afterwards. Tenants keep what they run.</p>
      </Confirm>
      {deprecate.isError && <ProblemView error={deprecate.error} />}
    </>
  );
}

function ImportDomainPack() {
  const queries = useQueryClient();
  return (
    <section aria-labelledby="import-domain-pack">
      <h2 id="import-domain-pack">Import a Domain Pack</h2>
      <ImportPanel
        label="Domain Pack file (JSON)"
        validate={async (pack) => unwrap(await packs.POST("/admin/packs/validate", { body: { kind: "domain", pack } }))}
        importPack={async (pack) => {
          const answer = await packs.POST("/admin/packs/domain/import", { body: pack });
          const { pack: version } = unwrap(answer);
          await queries.invalidateQueries({ queryKey: ["domain-packs"] });
          return { ...version, again: answer.response.status === 200 };
        }}
      />
    </section>
  );
}

/** Tenant Packs: a tenant's versions live in its own context; this tab picks
 * the tenant. */
export function TenantPacksTab() {
  const tenants = useConfiguredTenants();
  return (
    <section aria-labelledby="packs">
      <h1 id="packs">Packs</h1>
      <PackTabs />
      <p>A tenant's Tenant Packs, its activations and its change requests are managed in the tenant's context.</p>
      {tenants.isPending && <p>Loading tenants…</p>}
      {tenants.isError && <ProblemView error={tenants.error} />}
      {tenants.data && tenants.data.items.length === 0 && <p>No tenant is registered yet.</p>}
      {tenants.data && tenants.data.items.length > 0 && (
        <ul aria-label="Tenants">
          {tenants.data.items.map((t) => (
            <li key={t.tenant_id}>
              <Link to={`/tenants/${t.tenant_id}/packs`}>
                {t.display_name} ({t.slug})
              </Link>{" "}
              <Badge status={t.status} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
