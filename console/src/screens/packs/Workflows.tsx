import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { packs, unwrap } from "../../api/client";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";
import { useWorkspaces } from "../Workspaces";
import { PublishPanel, VersionTable } from "./Published";

/** A workspace's workflows: playbooks at the workspace's scope, each version
 * immutable once published. The workspace's administrators publish them from
 * a JSON file (the playbooks' format, checked the same way); every role of
 * the tenant reads them. */
export function Workflows() {
  const { tenant, can } = useTenantScope();
  const id = useId();
  const workspaces = useWorkspaces(tenant.tenant_id);
  // The registry lists the workspaces that exist (a deleted one is gone).
  const live = workspaces.data?.items ?? [];
  const [chosen, setChosen] = useState("");
  const workspace = chosen || live[0]?.workspace_id || "";
  return (
    <section aria-labelledby="workflows">
      <h1 id="workflows">Workflows of {tenant.display_name}</h1>
      {workspaces.isPending && <p>Loading the workspaces…</p>}
      {workspaces.isError && <ProblemView error={workspaces.error} />}
      {workspaces.data && live.length === 0 && <p>The tenant has no workspace yet: workflows live in one.</p>}
      {live.length > 0 && (
        <>
          <div className="field">
            <label htmlFor={id}>Workspace</label>
            <select id={id} value={workspace} onChange={(e) => setChosen(e.target.value)}>
              {live.map((w) => (
                <option key={w.workspace_id} value={w.workspace_id}>
                  {w.name}
                </option>
              ))}
            </select>
          </div>
          {can("workflow", "create") && <PublishWorkflow tenantId={tenant.tenant_id} workspaceId={workspace} />}
          <WorkflowList tenantId={tenant.tenant_id} workspaceId={workspace} />
        </>
      )}
    </section>
  );
}

const workflowsKey = (tenantId: string, workspaceId: string) => ["workflows", tenantId, workspaceId];

function PublishWorkflow({ tenantId, workspaceId }: { tenantId: string; workspaceId: string }) {
  const queries = useQueryClient();
  const publish = useMutation({
    mutationFn: async (document: Record<string, unknown>) => {
      const answer = await packs.POST("/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows", {
        params: { path: { tenant_id: tenantId, workspace_id: workspaceId } },
        body: document,
      });
      return { version: unwrap(answer), again: answer.response.status === 200 };
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: workflowsKey(tenantId, workspaceId) }),
  });
  return <PublishPanel title="Publish a workflow version" fileLabel="Workflow file (JSON)" publish={publish} />;
}

function WorkflowList({ tenantId, workspaceId }: { tenantId: string; workspaceId: string }) {
  const listed = useQuery({
    queryKey: workflowsKey(tenantId, workspaceId),
    queryFn: async () =>
      unwrap(
        await packs.GET("/admin/packs/tenant/{tenant_id}/workspaces/{workspace_id}/workflows", {
          params: { path: { tenant_id: tenantId, workspace_id: workspaceId }, query: {} },
        }),
      ),
  });
  if (listed.isPending) return <p>Loading the workflows…</p>;
  if (listed.isError) return <ProblemView error={listed.error} />;
  if (listed.data.items.length === 0) return <p>No workflow is published in this workspace yet.</p>;
  return (
    <VersionTable
      label="Published workflows"
      what="Workflow"
      versions={listed.data.items.map((w) => ({ ...w, id: w.workflow_version_id, of: w.workflow }))}
    />
  );
}
