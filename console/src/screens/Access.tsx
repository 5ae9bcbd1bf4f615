import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { registry, unwrap } from "../api/client";
import type { components } from "../api/generated/tenant-registry";
import { Confirm } from "../ui/Confirm";
import { when } from "../ui/when";
import { ProblemView } from "./ProblemView";
import { useTenantScope } from "./TenantContext";

type RoleBinding = components["schemas"]["RoleBinding"];

/** The roles a tenant's people and groups are given. */
const TENANT_ROLES = ["WorkspaceAdmin", "Operator", "Approver", "Auditor", "IntegrationAdmin"];

/** Who holds which role in the selected tenant: people by subject, and the
 * identity provider's groups mapped to roles. */
export function Access() {
  const { tenant } = useTenantScope();
  return (
    <section aria-labelledby="access">
      <h1 id="access">Access to {tenant.display_name}</h1>
      <Bindings kind="role-bindings" />
      <Bindings kind="group-mappings" />
    </section>
  );
}

function Bindings({ kind }: { kind: "role-bindings" | "group-mappings" }) {
  const { tenant, can } = useTenantScope();
  const queries = useQueryClient();
  const path = { tenant_id: tenant.tenant_id };
  const resource = kind === "role-bindings" ? "role_binding" : "group_mapping";
  const title = kind === "role-bindings" ? "Role bindings" : "Group mappings";
  const principal = kind === "role-bindings" ? "Subject" : "Identity provider group";
  const [who, setWho] = useState("");
  const [role, setRole] = useState("Operator");
  const listed = useQuery({
    queryKey: [kind, tenant.tenant_id],
    queryFn: async () =>
      unwrap(
        kind === "role-bindings"
          ? await registry.GET("/admin/tenants/{tenant_id}/role-bindings", { params: { path } })
          : await registry.GET("/admin/tenants/{tenant_id}/group-mappings", { params: { path } }),
      ),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: [kind, tenant.tenant_id] });
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        kind === "role-bindings"
          ? await registry.POST("/admin/tenants/{tenant_id}/role-bindings", {
              params: { path },
              body: { subject: who, role },
            })
          : await registry.POST("/admin/tenants/{tenant_id}/group-mappings", {
              params: { path },
              body: { idp_group: who, role },
            }),
      ),
    onSuccess: () => {
      setWho("");
      return refresh();
    },
  });
  const remove = useMutation({
    mutationFn: async (binding: RoleBinding) => {
      const params = { path: { ...path, binding_id: binding.binding_id } };
      const answer =
        kind === "role-bindings"
          ? await registry.DELETE("/admin/tenants/{tenant_id}/role-bindings/{binding_id}", { params })
          : await registry.DELETE("/admin/tenants/{tenant_id}/group-mappings/{binding_id}", { params });
      if (!answer.response.ok) unwrap(answer);
    },
    onSuccess: refresh,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  return (
    <section aria-labelledby={kind}>
      <h2 id={kind}>{title}</h2>
      {listed.isPending && <p>Loading…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>None yet.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{principal}</th>
              <th scope="col">Role</th>
              <th scope="col">Workspace</th>
              <th scope="col">Granted</th>
              {can(resource, "delete") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((b) => (
              <tr key={b.binding_id}>
                <td>{b.principal}</td>
                <td>{b.role}</td>
                <td>{b.workspace_id ?? "every workspace"}</td>
                <td>
                  {when(b.created_at)} by {b.created_by}
                </td>
                {can(resource, "delete") && (
                  <td>
                    <Confirm
                      label={`Remove ${b.principal}`}
                      title={`Remove ${b.principal}'s ${b.role} role?`}
                      confirmLabel="Remove"
                      onConfirm={() => remove.mutate(b)}
                    >
                      <p>They stop acting as {b.role} in this tenant at once.</p>
                    </Confirm>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can(resource, "create") && (
        <form onSubmit={submit} aria-label={`Add to ${title.toLowerCase()}`}>
          <label>
            {principal} <input required value={who} onChange={(e) => setWho(e.target.value)} />
          </label>{" "}
          <label>
            Role{" "}
            <select value={role} onChange={(e) => setRole(e.target.value)}>
              {TENANT_ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>{" "}
          <button type="submit" disabled={add.isPending}>
            Add
          </button>
        </form>
      )}
      {add.isError && <ProblemView error={add.error} />}
      {remove.isError && <ProblemView error={remove.error} />}
    </section>
  );
}
