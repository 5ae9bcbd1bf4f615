import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiFailure, packs, unwrap } from "../../api/client";
import type { components } from "../../api/generated/pack-service";
import { me } from "../../api/gateway";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";
import { ImportPanel } from "./ImportPanel";
import { Issues } from "./Upload";

type Activation = components["schemas"]["Activation"];
type ConfigChange = components["schemas"]["ConfigChange"];
type Pair = { domain: string; domain_pack_version: string; tenant_pack_version?: string | null };

/** Every query of the tenant's packs, asked again after a change. */
function useRefresh(tenantId: string) {
  const queries = useQueryClient();
  return () =>
    Promise.all(
      ["tenant-packs", "active-config", "changes", "playbook-links"].map((key) =>
        queries.invalidateQueries({ queryKey: [key, tenantId] }),
      ),
    ).then(() => queries.invalidateQueries({ queryKey: ["domain-packs"] }));
}

const pairName = (p: Pair) => `${p.domain} ${p.domain_pack_version}${p.tenant_pack_version ? ` + ${p.tenant_pack_version}` : ""}`;

/** The selected tenant's packs: what it runs (ACTIVE) and what it could
 * (DRAFT), its Tenant Pack versions, activation of a pair — at once or through
 * a change request an approver decides — its history with rollback, and its
 * linked playbooks. No screen edits an active document: a change is a new
 * version, activated. */
export function TenantPacks() {
  const { tenant } = useTenantScope();
  return (
    <section aria-labelledby="tenant-packs">
      <h1 id="tenant-packs">Packs of {tenant.display_name}</h1>
      <ActiveConfiguration />
      <Activate />
      <ChangeRequests />
      <TenantPackVersions />
      <PlaybookLinks />
    </section>
  );
}

function useActive(tenantId: string) {
  return useQuery({
    queryKey: ["active-config", tenantId],
    queryFn: async () =>
      unwrap(await packs.GET("/admin/packs/tenant/{tenant_id}/active", { params: { path: { tenant_id: tenantId } } })),
  });
}

/** Activates `pair`; the answer is an activation or a change request. */
function useActivation(tenantId: string) {
  const refresh = useRefresh(tenantId);
  return useMutation({
    mutationFn: async (pair: Pair) => {
      const answer = await packs.POST("/admin/packs/activate", {
        body: {
          tenant_id: tenantId,
          domain: pair.domain,
          domain_pack_version: pair.domain_pack_version,
          tenant_pack_version: pair.tenant_pack_version ?? null,
        },
      });
      const body = unwrap(answer);
      return answer.response.status === 202
        ? { pending: body as ConfigChange }
        : { active: body as Activation };
    },
    onSuccess: refresh,
  });
}

/** Why a pair cannot be activated, each reason on its own; or the failure. */
function Refusal({ error }: { error: unknown }) {
  if (error instanceof ApiFailure && error.problem.reasons) {
    return <Issues issues={error.problem.reasons} caption="Why this pair cannot be activated" />;
  }
  return <ProblemView error={error} />;
}

function ActiveConfiguration() {
  const { tenant, can } = useTenantScope();
  const active = useActive(tenant.tenant_id);
  const refresh = useRefresh(tenant.tenant_id);
  const rollback = useActivation(tenant.tenant_id);
  const settings = useMutation({
    mutationFn: async (approval_required: boolean) =>
      unwrap(
        await packs.PUT("/admin/packs/tenant/{tenant_id}/settings", {
          params: { path: { tenant_id: tenant.tenant_id } },
          body: { approval_required },
        }),
      ),
    onSuccess: refresh,
  });
  if (active.isPending) return <p>Loading the active configuration…</p>;
  if (active.isError) return <ProblemView error={active.error} />;
  const current = active.data.active;
  return (
    <section aria-labelledby="active-configuration">
      <h2 id="active-configuration">Active configuration</h2>
      {current ? (
        <dl className="facts" aria-label="What the tenant runs">
          <dt>Domain Pack</dt>
          <dd>
            {current.domain} {current.domain_pack_version} <Badge status="ACTIVE" />
          </dd>
          <dt>Tenant Pack</dt>
          <dd>
            {current.tenant_pack_version ? (
              <>
                {current.tenant_pack_version} <Badge status="ACTIVE" />
              </>
            ) : (
              "none"
            )}
          </dd>
          <dt>Activated</dt>
          <dd>
            {when(current.activated_at)} by {current.activated_by} ({current.reason})
          </dd>
        </dl>
      ) : (
        <p>Nothing is active yet: the tenant runs no configuration.</p>
      )}
      <p>
        Activations {active.data.approval_required ? "wait for an approver of the tenant" : "apply at once"}.{" "}
        {can("pack_settings", "update") && (
          <Confirm
            label={active.data.approval_required ? "Apply activations at once" : "Require approval of activations"}
            title={active.data.approval_required ? "Apply activations at once?" : "Require approval of activations?"}
            onConfirm={() => settings.mutate(!active.data.approval_required)}
          >
            <p>
              {active.data.approval_required
                ? "Each activation changes what the tenant runs as soon as it is made."
                : "Each activation becomes a change request that an approver of the tenant, not its requester, decides."}
            </p>
          </Confirm>
        )}
      </p>
      {settings.isError && <ProblemView error={settings.error} />}
      {active.data.history.length > 0 && (
        <table aria-label="Activation history">
          <caption>Activation history</caption>
          <thead>
            <tr>
              <th scope="col">Pair</th>
              <th scope="col">Activated</th>
              <th scope="col">Why</th>
              {can("pack_activation", "create") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {active.data.history.map((a) => {
              const isCurrent = a.activation_id === current?.activation_id;
              return (
                <tr key={a.activation_id}>
                  <td>
                    {pairName(a)} {isCurrent && <Badge status="ACTIVE" />}
                  </td>
                  <td>
                    {when(a.activated_at)} by {a.activated_by}
                  </td>
                  <td>{a.reason}</td>
                  {can("pack_activation", "create") && (
                    <td>
                      {!isCurrent &&
                        !(
                          current &&
                          a.domain_pack_version === current.domain_pack_version &&
                          a.tenant_pack_version === current.tenant_pack_version
                        ) && (
                          <Confirm
                            label={`Roll back to ${pairName(a)}`}
                            title={`Roll back to ${pairName(a)}?`}
                            confirmLabel="Roll back"
                            onConfirm={() => rollback.mutate(a)}
                          >
                            <p>The tenant runs this earlier pair again (an activation like any other).</p>
                          </Confirm>
                        )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {rollback.isError && <Refusal error={rollback.error} />}
      {rollback.data?.pending && <p role="status">Rollback requested: it waits for an approver.</p>}
    </section>
  );
}

function Activate() {
  const { tenant, can } = useTenantScope();
  const domainPacks = useQuery({
    queryKey: ["domain-packs"],
    queryFn: async () => unwrap(await packs.GET("/admin/packs/domain")),
  });
  const tenantPacks = useTenantPacks(tenant.tenant_id);
  const activation = useActivation(tenant.tenant_id);
  const [domainVersion, setDomainVersion] = useState("");
  const [tenantVersion, setTenantVersion] = useState("");
  if (!can("pack_activation", "create")) return null;
  const candidates = (domainPacks.data?.items ?? []).filter((p) => p.status !== "DEPRECATED");
  const chosen = candidates.find((p) => `${p.domain} ${p.version}` === domainVersion);
  const tenantOptions = (tenantPacks.data?.items ?? []).filter(
    (p) => p.status !== "DEPRECATED" && (!chosen || p.domain === chosen.domain),
  );
  const pair: Pair | undefined = chosen && {
    domain: chosen.domain,
    domain_pack_version: chosen.version,
    tenant_pack_version: tenantVersion || null,
  };
  return (
    <section aria-labelledby="activate">
      <h2 id="activate">Activate a pair</h2>
      <div className="field">
        <label htmlFor="activate-domain">Domain Pack version</label>
        <select id="activate-domain" value={domainVersion} onChange={(e) => setDomainVersion(e.target.value)}>
          <option value="">Choose…</option>
          {candidates.map((p) => (
            <option key={p.pack_id} value={`${p.domain} ${p.version}`}>
              {p.domain} {p.version} ({p.status})
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="activate-tenant">Tenant Pack version</label>
        <select id="activate-tenant" value={tenantVersion} onChange={(e) => setTenantVersion(e.target.value)}>
          <option value="">None</option>
          {tenantOptions.map((p) => (
            <option key={p.pack_id} value={p.version}>
              {p.version} (for {p.domain} {p.domain_versions}; {p.status})
            </option>
          ))}
        </select>
      </div>
      <Confirm
        label="Activate"
        title={pair ? `Activate ${pairName(pair)} for ${tenant.display_name}?` : "Activate"}
        disabled={!pair || activation.isPending}
        onConfirm={() => pair && activation.mutate(pair)}
      >
        <p>
          The tenant's runtime classifies with this pair from its next request on, without a restart. Linked
          playbooks must fit it too.
        </p>
      </Confirm>
      {activation.isError && <Refusal error={activation.error} />}
      {activation.data?.active && (
        <p role="status">
          Active now: {pairName(activation.data.active)} <Badge status="ACTIVE" />
        </p>
      )}
      {activation.data?.pending && (
        <p role="status">
          Change request {activation.data.pending.change_id} waits for an approver <Badge status="PENDING" />
        </p>
      )}
    </section>
  );
}

function ChangeRequests() {
  const { tenant, can } = useTenantScope();
  const refresh = useRefresh(tenant.tenant_id);
  const session = useQuery({ queryKey: ["me"], queryFn: me, retry: false });
  const [note, setNote] = useState("");
  const changes = useQuery({
    queryKey: ["changes", tenant.tenant_id],
    queryFn: async () =>
      unwrap(
        await packs.GET("/admin/packs/tenant/{tenant_id}/changes", { params: { path: { tenant_id: tenant.tenant_id } } }),
      ),
  });
  const decide = useMutation({
    mutationFn: async ({ change, approve }: { change: ConfigChange; approve: boolean }) => {
      const params = { path: { tenant_id: tenant.tenant_id, change_id: change.change_id } };
      const body = { note: note || null };
      return unwrap(
        approve
          ? await packs.POST("/admin/packs/tenant/{tenant_id}/changes/{change_id}/approve", { params, body })
          : await packs.POST("/admin/packs/tenant/{tenant_id}/changes/{change_id}/reject", { params, body }),
      );
    },
    onSuccess: () => {
      setNote("");
      return refresh();
    },
  });
  if (changes.isPending) return <p>Loading change requests…</p>;
  if (changes.isError) return <ProblemView error={changes.error} />;
  if (changes.data.items.length === 0) return null;
  return (
    <section aria-labelledby="changes">
      <h2 id="changes">Change requests</h2>
      <table aria-label="Change requests">
        <thead>
          <tr>
            <th scope="col">Pair</th>
            <th scope="col">Status</th>
            <th scope="col">Requested</th>
            <th scope="col">Decided</th>
            {can("config_change", "update") && <th scope="col">Decision</th>}
          </tr>
        </thead>
        <tbody>
          {changes.data.items.map((c) => (
            <tr key={c.change_id}>
              <td>{pairName(c)}</td>
              <td>
                <Badge status={c.status} />
              </td>
              <td>
                {when(c.requested_at)} by {c.requested_by}
              </td>
              <td>
                {c.decided_at && (
                  <>
                    {when(c.decided_at)} by {c.decided_by}
                    {c.decision_note && <>: {c.decision_note}</>}
                  </>
                )}
              </td>
              {can("config_change", "update") && (
                <td>
                  {c.status === "PENDING" && c.requested_by === session.data?.subject && (
                    <span>You asked for this change: another approver decides it.</span>
                  )}
                  {c.status === "PENDING" && session.data && c.requested_by !== session.data.subject && (
                    <>
                      <Confirm
                        label={`Approve ${pairName(c)}`}
                        title={`Approve ${pairName(c)}?`}
                        confirmLabel="Approve"
                        onConfirm={() => decide.mutate({ change: c, approve: true })}
                      >
                        <p>The tenant runs this pair from now on, if it still fits.</p>
                        <label>
                          Note <input value={note} onChange={(e) => setNote(e.target.value)} />
                        </label>
                      </Confirm>{" "}
                      <Confirm
                        label={`Reject ${pairName(c)}`}
                        title={`Reject ${pairName(c)}?`}
                        confirmLabel="Reject"
                        onConfirm={() => decide.mutate({ change: c, approve: false })}
                      >
                        <p>The active configuration stays as it is.</p>
                        <label>
                          Reason <input value={note} onChange={(e) => setNote(e.target.value)} />
                        </label>
                      </Confirm>
                    </>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {decide.isError && <Refusal error={decide.error} />}
    </section>
  );
}

function useTenantPacks(tenantId: string) {
  return useQuery({
    queryKey: ["tenant-packs", tenantId],
    queryFn: async () =>
      unwrap(await packs.GET("/admin/packs/tenant/{tenant_id}", { params: { path: { tenant_id: tenantId } } })),
  });
}

function TenantPackVersions() {
  const { tenant, can } = useTenantScope();
  const refresh = useRefresh(tenant.tenant_id);
  const listed = useTenantPacks(tenant.tenant_id);
  const deprecate = useMutation({
    mutationFn: async (version: string) =>
      unwrap(
        await packs.POST("/admin/packs/tenant/{tenant_id}/{version}/deprecate", {
          params: { path: { tenant_id: tenant.tenant_id, version } },
        }),
      ),
    onSuccess: refresh,
  });
  return (
    <section aria-labelledby="tenant-pack-versions">
      <h2 id="tenant-pack-versions">Tenant Pack versions</h2>
      {can("tenant_pack", "create") && (
        <ImportPanel
          label="Tenant Pack file (JSON)"
          validate={async (pack) =>
            unwrap(await packs.POST("/admin/packs/validate", { body: { kind: "tenant", tenant_id: tenant.tenant_id, pack } }))
          }
          importPack={async (pack) => {
            const answer = await packs.POST("/admin/packs/tenant/import", { body: { tenant_id: tenant.tenant_id, pack } });
            const { pack: version } = unwrap(answer);
            await refresh();
            return { ...version, again: answer.response.status === 200 };
          }}
        />
      )}
      {listed.isPending && <p>Loading Tenant Packs…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No Tenant Pack is imported for this tenant yet.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table aria-label="Tenant Pack versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">For</th>
              <th scope="col">Status</th>
              <th scope="col">Imported</th>
              {can("tenant_pack", "update") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((p) => (
              <tr key={p.pack_id}>
                <td>{p.version}</td>
                <td>
                  {p.domain} {p.domain_versions}
                </td>
                <td>
                  <Badge status={p.status} />
                </td>
                <td>
                  {when(p.created_at)} by {p.created_by}
                </td>
                {can("tenant_pack", "update") && (
                  <td>
                    {p.status === "DRAFT" && (
                      <Confirm
                        label={`Deprecate ${p.version}`}
                        title={`Deprecate Tenant Pack ${p.version}?`}
                        confirmLabel="Deprecate"
                        onConfirm={() => deprecate.mutate(p.version)}
                      >
                        <p>It can no longer be activated.</p>
                      </Confirm>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {deprecate.isError && <ProblemView error={deprecate.error} />}
    </section>
  );
}

function PlaybookLinks() {
  const { tenant, can } = useTenantScope();
  const refresh = useRefresh(tenant.tenant_id);
  const path = { tenant_id: tenant.tenant_id };
  const links = useQuery({
    queryKey: ["playbook-links", tenant.tenant_id],
    queryFn: async () => unwrap(await packs.GET("/admin/packs/tenant/{tenant_id}/playbooks", { params: { path } })),
  });
  const published = useQuery({
    queryKey: ["playbooks"],
    queryFn: async () => unwrap(await packs.GET("/admin/playbooks")),
    enabled: can("playbook_link", "create"),
  });
  const [choice, setChoice] = useState("");
  const link = useMutation({
    mutationFn: async () => {
      const [playbook = "", version = ""] = choice.split(" ");
      return unwrap(
        await packs.POST("/admin/packs/tenant/{tenant_id}/playbooks", { params: { path }, body: { playbook, version } }),
      );
    },
    onSuccess: refresh,
  });
  const unlink = useMutation({
    mutationFn: async (playbook: string) => {
      const answer = await packs.DELETE("/admin/packs/tenant/{tenant_id}/playbooks/{playbook}", {
        params: { path: { ...path, playbook } },
      });
      if (!answer.response.ok) unwrap(answer);
    },
    onSuccess: refresh,
  });
  return (
    <section aria-labelledby="playbook-links">
      <h2 id="playbook-links">Linked playbooks</h2>
      {links.isPending && <p>Loading playbook links…</p>}
      {links.isError && <ProblemView error={links.error} />}
      {links.data && links.data.items.length === 0 && <p>No playbook is linked.</p>}
      {links.data && links.data.items.length > 0 && (
        <table aria-label="Linked playbooks">
          <thead>
            <tr>
              <th scope="col">Playbook</th>
              <th scope="col">Version</th>
              <th scope="col">Fits Domain Pack</th>
              <th scope="col">Linked</th>
              {can("playbook_link", "delete") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {links.data.items.map((l) => (
              <tr key={l.playbook}>
                <td>
                  {l.name} <code>{l.playbook}</code>
                </td>
                <td>{l.version}</td>
                <td>{l.domain_pack_version}</td>
                <td>
                  {when(l.linked_at)} by {l.linked_by}
                </td>
                {can("playbook_link", "delete") && (
                  <td>
                    <Confirm
                      label={`Unlink ${l.playbook}`}
                      title={`Unlink ${l.name}?`}
                      confirmLabel="Unlink"
                      onConfirm={() => unlink.mutate(l.playbook)}
                    >
                      <p>The runtime stops running it for this tenant.</p>
                    </Confirm>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can("playbook_link", "create") && (
        <div className="actions">
          <label htmlFor="link-playbook">Playbook version</label>
          <select id="link-playbook" value={choice} onChange={(e) => setChoice(e.target.value)}>
            <option value="">Choose…</option>
            {(published.data?.items ?? []).map((p) => (
              <option key={p.playbook_version_id} value={`${p.playbook} ${p.version}`}>
                {p.name} {p.version} ({p.domain})
              </option>
            ))}
          </select>
          <button type="button" disabled={!choice || link.isPending} onClick={() => link.mutate()}>
            Link playbook
          </button>
        </div>
      )}
      {link.isError && <Refusal error={link.error} />}
      {unlink.isError && <ProblemView error={unlink.error} />}
    </section>
  );
}
