import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, NavLink } from "react-router";
import { usePermissions } from "../../access";
import { ApiFailure, packs, registry, unwrap } from "../../api/client";
import type { components } from "../../api/generated/pack-service";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import type { Parsed } from "./document";
import { Issues, Upload } from "./Upload";

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

/** What validating or importing a document found. */
export type Outcome =
  | { kind: "valid"; attempt: string }
  | { kind: "invalid"; issues: components["schemas"]["Issue"][] }
  | { kind: "imported"; what: string; status: string; again: boolean };

/** Shows an outcome. */
export function OutcomeView({ outcome, name }: { outcome: Outcome; name: string }) {
  if (outcome.kind === "valid") return <p role="status">{name} is valid: no problem found.</p>;
  if (outcome.kind === "invalid") return <Issues issues={outcome.issues} caption={`Problems of ${name}`} />;
  return (
    <p role="status">
      {outcome.again ? "Already imported" : "Imported"}: {outcome.what} <Badge status={outcome.status} />
    </p>
  );
}

/** The problems of a refused import, or the failure itself. */
export function refusedIssues(error: unknown): Outcome | undefined {
  if (error instanceof ApiFailure && error.problem.errors) return { kind: "invalid", issues: error.problem.errors };
  return undefined;
}

function ImportDomainPack() {
  const queries = useQueryClient();
  const [parsed, setParsed] = useState<Parsed | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const document = parsed?.ok ? parsed.document : undefined;
  const validate = useMutation({
    mutationFn: async () =>
      unwrap(await packs.POST("/admin/packs/validate", { body: { kind: "domain", pack: document ?? {} } })),
    onSuccess: (report) =>
      setOutcome(report.valid ? { kind: "valid", attempt: report.attempt_id } : { kind: "invalid", issues: report.errors }),
  });
  const importPack = useMutation({
    mutationFn: async () => {
      const answer = await packs.POST("/admin/packs/domain/import", { body: document ?? {} });
      return { imported: unwrap(answer), again: answer.response.status === 200 };
    },
    onSuccess: async ({ imported, again }) => {
      setOutcome({
        kind: "imported",
        what: `${imported.pack.domain} ${imported.pack.version}`,
        status: imported.pack.status,
        again,
      });
      await queries.invalidateQueries({ queryKey: ["domain-packs"] });
    },
    onError: (error) => setOutcome(refusedIssues(error) ?? null),
  });
  return (
    <section aria-labelledby="import-domain-pack" className="panel">
      <h2 id="import-domain-pack">Import a Domain Pack</h2>
      <Upload
        label="Domain Pack file (JSON)"
        onParsed={(p) => {
          setParsed(p);
          setOutcome(null);
        }}
      />
      <div className="actions">
        <button type="button" disabled={!document || validate.isPending} onClick={() => validate.mutate()}>
          Validate
        </button>
        <button
          type="button"
          className="primary"
          disabled={!document || importPack.isPending}
          onClick={() => importPack.mutate()}
        >
          Import
        </button>
      </div>
      {outcome && parsed && <OutcomeView outcome={outcome} name={parsed.name} />}
      {validate.isError && <ProblemView error={validate.error} />}
      {importPack.isError && !refusedIssues(importPack.error) && <ProblemView error={importPack.error} />}
    </section>
  );
}

/** Tenant Packs: a tenant's versions live in its own context; this tab picks
 * the tenant. */
export function TenantPacksTab() {
  const tenants = useQuery({
    queryKey: ["tenants", "selector"],
    queryFn: async () => unwrap(await registry.GET("/admin/tenants", { params: { query: { limit: 200 } } })),
  });
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
