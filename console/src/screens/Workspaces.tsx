import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { registry, unwrap } from "../api/client";
import type { components } from "../api/generated/tenant-registry";
import { Confirm } from "../ui/Confirm";
import { when } from "../ui/when";
import { ProblemView } from "./ProblemView";
import { type Tenant, useTenantScope } from "./TenantContext";

type Workspace = components["schemas"]["Workspace"];
type ApprovalTier = components["schemas"]["ApprovalTier"];

const TIERS: { tier: ApprovalTier; means: string }[] = [
  { tier: "L0", means: "fully automated" },
  { tier: "L1", means: "notify" },
  { tier: "L2", means: "approve to proceed" },
  { tier: "L3", means: "human only" },
];

/** The workspaces of `tenantId`, as every screen that lists them reads them. */
export function useWorkspaces(tenantId: string) {
  return useQuery({
    queryKey: ["workspaces", tenantId],
    queryFn: async () =>
      unwrap(await registry.GET("/admin/tenants/{tenant_id}/workspaces", { params: { path: { tenant_id: tenantId } } })),
  });
}

/** The selected tenant's workspaces and their settings: data mode (never
 * looser than the tenant's), retention, the daily write cap and the approval
 * tier; the region is the tenant's and never changes. */
export function Workspaces() {
  const { tenant, can } = useTenantScope();
  const listed = useWorkspaces(tenant.tenant_id);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <section aria-labelledby="workspaces">
      <h1 id="workspaces">Workspaces of {tenant.display_name}</h1>
      <p>Region: {tenant.region.toUpperCase()} (the tenant's; it never changes).</p>
      {listed.isPending && <p>Loading workspaces…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No workspace yet.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Workspace</th>
              <th scope="col">Data mode</th>
              <th scope="col">Retention</th>
              <th scope="col">Write cap a day</th>
              <th scope="col">Approval tier</th>
              <th scope="col">Updated</th>
              {can("workspace", "update") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((w) => (
              <tr key={w.workspace_id}>
                <td>{w.name}</td>
                <td>{w.data_mode}</td>
                <td>{w.retention_days} days</td>
                <td>{w.write_cap_per_day ?? "none"}</td>
                <td>{w.approval_tier}</td>
                <td>{when(w.updated_at)}</td>
                {can("workspace", "update") && (
                  <td>
                    <button type="button" onClick={() => setEditing(w.workspace_id)}>
                      Edit {w.name}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && listed.data?.items.find((w) => w.workspace_id === editing) && (
        <WorkspaceForm
          tenant={tenant}
          workspace={listed.data.items.find((w) => w.workspace_id === editing)}
          done={() => setEditing(null)}
        />
      )}
      {!editing && can("workspace", "create") && <WorkspaceForm tenant={tenant} done={() => undefined} />}
    </section>
  );
}

/** Creates a workspace, or changes one's settings. */
function WorkspaceForm({ tenant, workspace, done }: { tenant: Tenant; workspace?: Workspace; done: () => void }) {
  const queries = useQueryClient();
  const { can } = useTenantScope();
  const [name, setName] = useState(workspace?.name ?? "");
  const [dataMode, setDataMode] = useState(workspace?.data_mode ?? tenant.data_mode);
  const [retention, setRetention] = useState(String(workspace?.retention_days ?? 90));
  const [cap, setCap] = useState(workspace?.write_cap_per_day == null ? "" : String(workspace.write_cap_per_day));
  const [tier, setTier] = useState<ApprovalTier>(workspace?.approval_tier ?? "L2");
  const path = { tenant_id: tenant.tenant_id };
  const body = {
    name,
    data_mode: dataMode,
    retention_days: Number(retention),
    write_cap_per_day: cap === "" ? null : Number(cap),
    approval_tier: tier,
  };
  const save = useMutation({
    mutationFn: async () =>
      unwrap(
        workspace
          ? await registry.PATCH("/admin/tenants/{tenant_id}/workspaces/{workspace_id}", {
              params: { path: { ...path, workspace_id: workspace.workspace_id } },
              body,
            })
          : await registry.POST("/admin/tenants/{tenant_id}/workspaces", { params: { path }, body }),
      ),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["workspaces", tenant.tenant_id] });
      await queries.invalidateQueries({ queryKey: ["entitlements", tenant.tenant_id] });
      if (!workspace) setName("");
      done();
    },
  });
  const remove = useMutation({
    mutationFn: async () => {
      if (!workspace) return;
      const answer = await registry.DELETE("/admin/tenants/{tenant_id}/workspaces/{workspace_id}", {
        params: { path: { ...path, workspace_id: workspace.workspace_id } },
      });
      if (!answer.response.ok) unwrap(answer);
    },
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["workspaces", tenant.tenant_id] });
      done();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const title = workspace ? `Edit ${workspace.name}` : "Create a workspace";
  return (
    <form onSubmit={submit} aria-label={title}>
      <h2>{title}</h2>
      <div className="field">
        <label htmlFor="ws-name">Name</label>
        <input id="ws-name" required value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="ws-data-mode">Data mode</label>
        <select id="ws-data-mode" value={dataMode} onChange={(e) => setDataMode(e.target.value)}>
          <option value="metadata_only">Metadata only</option>
          <option value="content" disabled={tenant.data_mode !== "content"}>
            Content{tenant.data_mode !== "content" ? " (the tenant is metadata-only)" : ""}
          </option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="ws-retention">Retention (days)</label>
        <input
          id="ws-retention"
          type="number"
          min={1}
          required
          value={retention}
          onChange={(e) => setRetention(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="ws-cap">Write cap a day (empty: none)</label>
        <input id="ws-cap" type="number" min={0} value={cap} onChange={(e) => setCap(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="ws-tier">Approval tier</label>
        <select id="ws-tier" value={tier} onChange={(e) => setTier(e.target.value as ApprovalTier)}>
          {TIERS.map((t) => (
            <option key={t.tier} value={t.tier}>
              {t.tier}: {t.means}
            </option>
          ))}
        </select>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {workspace ? "Save" : "Create workspace"}
        </button>
        {workspace && (
          <button type="button" onClick={done}>
            Cancel
          </button>
        )}
        {workspace && can("workspace", "delete") && (
          <Confirm
            label={`Delete ${workspace.name}`}
            title={`Delete the workspace ${workspace.name}?`}
            confirmLabel="Delete"
            onConfirm={() => remove.mutate()}
          >
            <p>Its settings go; the tenant's audit trail keeps what happened in it.</p>
          </Confirm>
        )}
      </div>
      {save.isError && <ProblemView error={save.error} />}
      {remove.isError && <ProblemView error={remove.error} />}
    </form>
  );
}
