import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { modules, unwrap } from "../../api/client";
import type { components } from "../../api/generated/module-catalog";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";
import { useWorkspaces } from "../Workspaces";
import { useReleases } from "./Catalog";

type Readiness = components["schemas"]["Readiness"];
type Enablement = components["schemas"]["Enablement"];

/** Compares semantic versions, newest first. */
function newestFirst(a: string, b: string): number {
  const parts = (v: string) => v.split(".").map(Number);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i += 1) {
    const d = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Tenant module readiness, enablement and offboarding: the platform owns trust
 * (which releases are approved), the tenant owns enablement. Readiness lists
 * every check of an approved release for the tenant (or one workspace);
 * enabling asks to acknowledge, one by one, what cannot be known yet; disabling
 * keeps the tenant's module state and answers the manifest's cleanup guidance
 * as a checklist to follow through. */
export function TenantModules() {
  const { tenant, can } = useTenantScope();
  const path = { tenant_id: tenant.tenant_id };
  const enablements = useQuery({
    queryKey: ["enablements", tenant.tenant_id],
    queryFn: async () => unwrap(await modules.GET("/admin/tenant-modules/{tenant_id}", { params: { path } })),
  });
  const catalog = useReleases();
  const approved = (catalog.data?.items ?? []).filter((r) => r.status === "APPROVED");
  return (
    <section aria-labelledby="tenant-modules">
      <h1 id="tenant-modules">Modules of {tenant.display_name}</h1>
      {enablements.isPending && <p>Loading the tenant's modules…</p>}
      {enablements.isError && <ProblemView error={enablements.error} />}
      {enablements.data && enablements.data.items.length === 0 && <p>No module is enabled for this tenant.</p>}
      {enablements.data && enablements.data.items.length > 0 && (
        <table aria-label="Enabled modules">
          <thead>
            <tr>
              <th scope="col">Module</th>
              <th scope="col">Scope</th>
              <th scope="col">Release</th>
              <th scope="col">State</th>
              <th scope="col">Since</th>
              {can("module_enablement", "update") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {enablements.data.items.map((e) => {
              const newer = approved
                .filter((r) => r.module_id === e.module_id && newestFirst(r.version, e.version) < 0)
                .map((r) => r.version)
                .sort(newestFirst);
              return (
                <tr key={e.enablement_id}>
                  <td>
                    <code>{e.module_id}</code>
                  </td>
                  <td>{e.workspace_id ?? "every workspace"}</td>
                  <td>
                    {e.version} {e.revoked_at && <Badge status="REVOKED" />}
                    {e.acknowledged.length > 0 && <div>acknowledged: {e.acknowledged.join(", ")}</div>}
                  </td>
                  <td>
                    <Badge status={e.status} />
                  </td>
                  <td>
                    {e.status === "DISABLED" && e.disabled_at
                      ? `${when(e.disabled_at)} by ${e.disabled_by}`
                      : `${when(e.enabled_at)} by ${e.enabled_by}`}
                  </td>
                  {can("module_enablement", "update") && (
                    <td>
                      {e.status === "ENABLED" && newer[0] && <Upgrade enablement={e} to={newer[0]} />}{" "}
                      {e.status === "ENABLED" && <Disable enablement={e} />}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {enablements.data?.items
        .filter((e) => e.status === "DISABLED" && e.cleanup && e.cleanup.length > 0)
        .map((e) => <CleanupChecklist key={e.enablement_id} enablement={e} />)}
      <CheckReadiness approved={approved.map((r) => ({ module: r.module_id, version: r.version, name: r.name }))} />
    </section>
  );
}

/** The readiness of `moduleId` `version` for the tenant (or one workspace);
 * nothing is asked until a release is chosen. */
function useReadiness(tenantId: string, moduleId: string, version: string, workspaceId?: string) {
  return useQuery({
    queryKey: ["readiness", tenantId, `${moduleId}@${version}`, workspaceId ?? ""],
    enabled: Boolean(moduleId && version),
    queryFn: async () =>
      unwrap(
        await modules.GET("/admin/tenant-modules/{tenant_id}/readiness", {
          params: {
            path: { tenant_id: tenantId },
            query: { module_id: moduleId, version, workspace_id: workspaceId },
          },
        }),
      ),
  });
}

/** What stands between a release and running it: the checks that are not
 * ready (nothing enables over those), the unknown ones, and whether each
 * unknown one is acknowledged. */
function gateOf(readiness: Readiness | undefined, acknowledged: Set<string>) {
  const checks = readiness?.checks ?? [];
  const unknown = checks.filter((c) => c.state === "unknown");
  return {
    blocking: checks.filter((c) => c.state === "not_ready"),
    unknown,
    acknowledgedAll: unknown.every((c) => acknowledged.has(c.check)),
  };
}

/** Picks an approved release (and a workspace) and shows its readiness; where
 * the caller may, it is enabled from there. */
function CheckReadiness({ approved }: { approved: { module: string; version: string; name: string }[] }) {
  const { tenant, can } = useTenantScope();
  const ids = { release: useId(), workspace: useId() };
  const [release, setRelease] = useState("");
  const [workspace, setWorkspace] = useState("");
  const workspaces = useWorkspaces(tenant.tenant_id);
  const [moduleId = "", version = ""] = release.split("@");
  const readiness = useReadiness(tenant.tenant_id, moduleId, version, workspace || undefined);
  return (
    <section aria-labelledby="readiness" className="panel">
      <h2 id="readiness">Tenant module readiness</h2>
      <div className="field">
        <label htmlFor={ids.release}>Approved release</label>
        <select id={ids.release} value={release} onChange={(e) => setRelease(e.target.value)}>
          <option value="">Choose a release…</option>
          {approved.map((r) => (
            <option key={`${r.module}@${r.version}`} value={`${r.module}@${r.version}`}>
              {r.name} {r.version}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.workspace}>Workspace</label>
        <select id={ids.workspace} value={workspace} onChange={(e) => setWorkspace(e.target.value)}>
          <option value="">Every workspace</option>
          {(workspaces.data?.items ?? []).map((w) => (
            <option key={w.workspace_id} value={w.workspace_id}>
              {w.name}
            </option>
          ))}
        </select>
      </div>
      {readiness.isFetching && <p>Checking readiness…</p>}
      {readiness.isError && <ProblemView error={readiness.error} />}
      {readiness.data && (
        <>
          <ReadinessChecks readiness={readiness.data} />
          {can("module_enablement", "create") && <Enable readiness={readiness.data} />}
        </>
      )}
    </section>
  );
}

/** Ready, not ready (and why), or ready but for what cannot be checked yet. */
function readinessSummary(readiness: Readiness): string {
  if (readiness.ready) return "ready";
  const { blocking, unknown } = gateOf(readiness, new Set());
  if (blocking.length > 0) return `not ready: ${blocking.map((c) => c.check).join(", ")}`;
  return `ready once ${unknown.length} check(s) that cannot be made yet are acknowledged`;
}

function ReadinessChecks({ readiness }: { readiness: Readiness }) {
  return (
    <table aria-label="Readiness checks">
      <caption>
        {readiness.module_id} {readiness.version}: {readinessSummary(readiness)}
      </caption>
      <thead>
        <tr>
          <th scope="col">Check</th>
          <th scope="col">State</th>
          <th scope="col">Found</th>
        </tr>
      </thead>
      <tbody>
        {readiness.checks.map((c) => (
          <tr key={c.check}>
            <td>{c.check}</td>
            <td>
              <Badge status={c.state.toUpperCase()} />
            </td>
            <td>{c.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The checks no service can tell yet, each to be acknowledged knowingly. */
function Acknowledge({
  unknown,
  acknowledged,
  onChange,
}: {
  unknown: { check: string; message: string }[];
  acknowledged: Set<string>;
  onChange: (next: Set<string>) => void;
}) {
  if (unknown.length === 0) return <p>Every check is ready.</p>;
  return (
    <fieldset>
      <legend>Acknowledge what cannot be checked yet</legend>
      {unknown.map((c) => (
        <label key={c.check} className="check">
          <input
            type="checkbox"
            checked={acknowledged.has(c.check)}
            onChange={(e) => {
              const next = new Set(acknowledged);
              if (e.target.checked) next.add(c.check);
              else next.delete(c.check);
              onChange(next);
            }}
          />{" "}
          {c.check}: {c.message}
        </label>
      ))}
    </fieldset>
  );
}

/** Review tenant enablement: what will run, and the acknowledgement of every
 * unknown check; a check that is not ready stops it. */
function Enable({ readiness }: { readiness: Readiness }) {
  const { tenant } = useTenantScope();
  const queries = useQueryClient();
  const [acknowledged, setAcknowledged] = useState<Set<string>>(new Set());
  const { blocking, unknown, acknowledgedAll } = gateOf(readiness, acknowledged);
  const enable = useMutation({
    mutationFn: async () =>
      unwrap(
        await modules.POST("/admin/tenant-modules/{tenant_id}/enable", {
          params: { path: { tenant_id: tenant.tenant_id } },
          body: {
            module_id: readiness.module_id,
            version: readiness.version,
            workspace_id: readiness.workspace_id ?? null,
            acknowledge: [...acknowledged],
          },
        }),
      ),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["enablements", tenant.tenant_id] });
      void queries.invalidateQueries({ queryKey: ["readiness", tenant.tenant_id] });
    },
  });
  return (
    <>
      {blocking.length > 0 && (
        <p>Not ready: {blocking.map((c) => c.check).join(", ")}. It can be enabled once every check is ready.</p>
      )}
      <Confirm
        label={`Enable ${readiness.module_id} ${readiness.version}`}
        title={`Review enablement of ${readiness.module_id} ${readiness.version}`}
        confirmLabel="Enable"
        disabled={blocking.length > 0 || enable.isPending}
        confirmDisabled={!acknowledgedAll}
        onConfirm={() => enable.mutate()}
      >
        <p>
          {readiness.module_id} {readiness.version} will run for{" "}
          {readiness.workspace_id ? `workspace ${readiness.workspace_id}` : `every workspace of ${tenant.display_name}`}.
        </p>
        <Acknowledge unknown={unknown} acknowledged={acknowledged} onChange={setAcknowledged} />
      </Confirm>
      {enable.data && (
        <p role="status">
          Enabled: {enable.data.module_id} {enable.data.version}
        </p>
      )}
      {enable.isError && <ProblemView error={enable.error} />}
    </>
  );
}

/** Upgrade to the newest approved release, reviewed like an enablement. */
function Upgrade({ enablement, to }: { enablement: Enablement; to: string }) {
  const { tenant } = useTenantScope();
  const queries = useQueryClient();
  const [acknowledged, setAcknowledged] = useState<Set<string>>(new Set());
  const readiness = useReadiness(tenant.tenant_id, enablement.module_id, to, enablement.workspace_id ?? undefined);
  const upgrade = useMutation({
    mutationFn: async () =>
      unwrap(
        await modules.POST("/admin/tenant-modules/{tenant_id}/{enablement_id}/upgrade", {
          params: { path: { tenant_id: tenant.tenant_id, enablement_id: enablement.enablement_id } },
          body: { version: to, acknowledge: [...acknowledged] },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["enablements", tenant.tenant_id] }),
  });
  const { blocking, unknown, acknowledgedAll } = gateOf(readiness.data, acknowledged);
  return (
    <>
      <Confirm
        label={`Upgrade ${enablement.module_id} to ${to}`}
        title={`Upgrade ${enablement.module_id} from ${enablement.version} to ${to}?`}
        confirmLabel="Upgrade"
        disabled={!readiness.data || blocking.length > 0}
        confirmDisabled={!acknowledgedAll}
        onConfirm={() => upgrade.mutate()}
      >
        <Acknowledge unknown={unknown} acknowledged={acknowledged} onChange={setAcknowledged} />
      </Confirm>
      {upgrade.isError && <ProblemView error={upgrade.error} />}
    </>
  );
}

/** Review tenant offboarding of a module: what disabling keeps and what the
 * operator is to clean up, from the release's manifest. */
function Disable({ enablement }: { enablement: Enablement }) {
  const { tenant } = useTenantScope();
  const queries = useQueryClient();
  const release = useQuery({
    queryKey: ["module", enablement.module_id, enablement.version],
    queryFn: async () =>
      unwrap(
        await modules.GET("/admin/modules/{module_id}/{version}", {
          params: { path: { module_id: enablement.module_id, version: enablement.version } },
        }),
      ),
  });
  const disable = useMutation({
    mutationFn: async () =>
      unwrap(
        await modules.POST("/admin/tenant-modules/{tenant_id}/{enablement_id}/disable", {
          params: { path: { tenant_id: tenant.tenant_id, enablement_id: enablement.enablement_id } },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["enablements", tenant.tenant_id] }),
  });
  const manifest = (release.data?.manifest ?? {}) as { cleanup?: { id: string; kind: string; description: string }[] };
  return (
    <>
      <Confirm
        label={`Disable ${enablement.module_id}`}
        title={`Review offboarding of ${enablement.module_id} ${enablement.version}`}
        confirmLabel="Disable"
        onConfirm={() => disable.mutate()}
      >
        <p>
          The module stops running for {tenant.display_name}. Its state is kept (disabled, with who and when); the
          cleanup below is for you to follow through, step by step, on the checklist that follows.
        </p>
        <ul>
          {(manifest.cleanup ?? []).map((s) => (
            <li key={s.id}>
              <strong>{s.kind.replaceAll("_", " ")}</strong>: {s.description}
            </li>
          ))}
        </ul>
      </Confirm>
      {disable.isError && <ProblemView error={disable.error} />}
    </>
  );
}

/** The cleanup guidance of a disabled module, each step marked done by whoever
 * followed it through. */
function CleanupChecklist({ enablement }: { enablement: Enablement }) {
  const { tenant, can } = useTenantScope();
  const queries = useQueryClient();
  const done = useMutation({
    mutationFn: async (step: string) =>
      unwrap(
        await modules.POST("/admin/tenant-modules/{tenant_id}/{enablement_id}/cleanup/{step_id}", {
          params: { path: { tenant_id: tenant.tenant_id, enablement_id: enablement.enablement_id, step_id: step } },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["enablements", tenant.tenant_id] }),
  });
  return (
    <table aria-label={`Cleanup of ${enablement.module_id}`}>
      <caption>
        Cleanup of {enablement.module_id} {enablement.version}:{" "}
        {enablement.cleanup_complete ? "complete" : "steps to follow through"}
      </caption>
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col">What to do</th>
          <th scope="col">Done</th>
        </tr>
      </thead>
      <tbody>
        {(enablement.cleanup ?? []).map((s) => (
          <tr key={s.id}>
            <td>{s.kind.replaceAll("_", " ")}</td>
            <td>{s.description}</td>
            <td>
              {s.done_at ? (
                `${when(s.done_at)} by ${s.done_by}`
              ) : can("module_enablement", "update") ? (
                <button type="button" onClick={() => done.mutate(s.id)} disabled={done.isPending}>
                  Mark {s.id} done
                </button>
              ) : (
                "not yet"
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
