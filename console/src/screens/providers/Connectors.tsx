import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link, useParams } from "react-router";
import { providers, unwrap } from "../../api/client";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";
import { useWorkspaces } from "../Workspaces";
import { SetupRequests } from "./SetupRequests";
import { CredentialVersions, Validations } from "./Versions";

/** The connector kinds a workspace can install, as provider setup describes
 * them (their settings and credentials). */
function useConnectorKinds(tenantId: string) {
  return useQuery({
    queryKey: ["connector-kinds", tenantId],
    staleTime: Infinity,
    queryFn: async () =>
      unwrap(
        await providers.GET("/admin/providers/tenants/{tenant_id}/connector-kinds", {
          params: { path: { tenant_id: tenantId } },
        }),
      ),
  });
}

/** The connectors installed in the selected tenant's workspaces (one
 * workspace, or all), and where the caller may, a new installation: its
 * settings here, its credentials later through a setup link. */
export function Connectors() {
  const { tenant, can } = useTenantScope();
  const workspaces = useWorkspaces(tenant.tenant_id);
  const kinds = useConnectorKinds(tenant.tenant_id);
  const [workspace, setWorkspace] = useState("");
  const filterId = useId();
  const listed = useQuery({
    queryKey: ["connectors", tenant.tenant_id, workspace],
    queryFn: async () =>
      unwrap(
        await providers.GET("/admin/providers/tenants/{tenant_id}/connectors", {
          params: { path: { tenant_id: tenant.tenant_id }, query: { workspace_id: workspace || undefined } },
        }),
      ),
  });
  const nameOf = (id: string) => workspaces.data?.items.find((w) => w.workspace_id === id)?.name ?? id;
  const labelOf = (kind: string) => kinds.data?.items.find((k) => k.kind === kind)?.label ?? kind;
  return (
    <section aria-labelledby="connectors">
      <h1 id="connectors">Connectors of {tenant.display_name}</h1>
      <p>
        Each workspace installs the PSA and directory connectors it works with. Their credentials never pass through
        this console: they are entered through a single-use setup link and stored encrypted.
      </p>
      <div className="filters">
        <label htmlFor={filterId}>Workspace</label>{" "}
        <select id={filterId} value={workspace} onChange={(e) => setWorkspace(e.target.value)}>
          <option value="">every workspace</option>
          {workspaces.data?.items.map((w) => (
            <option key={w.workspace_id} value={w.workspace_id}>
              {w.name}
            </option>
          ))}
        </select>
      </div>
      {listed.isPending && <p>Loading connectors…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No connector installed.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table aria-label="Installed connectors">
          <thead>
            <tr>
              <th scope="col">Connector</th>
              <th scope="col">Kind</th>
              <th scope="col">Workspace</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((c) => (
              <tr key={c.connector_id}>
                <td>
                  <Link to={c.connector_id}>{c.name}</Link>
                </td>
                <td>{labelOf(c.kind)}</td>
                <td>{nameOf(c.workspace_id)}</td>
                <td>
                  <code>{c.base_url}</code>
                </td>
                <td>
                  <Badge status={c.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can("connector_installation", "create") && <InstallConnector />}
    </section>
  );
}

function InstallConnector() {
  const { tenant } = useTenantScope();
  const queries = useQueryClient();
  const workspaces = useWorkspaces(tenant.tenant_id);
  const kinds = useConnectorKinds(tenant.tenant_id);
  const ids = { workspace: useId(), kind: useId(), name: useId(), url: useId(), note: useId() };
  const settingId = useId();
  const empty = { workspace: "", kind: "", name: "", baseUrl: "", note: "" };
  const [form, setForm] = useState(empty);
  const [settings, setSettings] = useState<Record<string, string>>({});
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const kind = kinds.data?.items.find((k) => k.kind === form.kind);
  const install = useMutation({
    mutationFn: async () =>
      unwrap(
        await providers.POST("/admin/providers/tenants/{tenant_id}/connectors", {
          params: { path: { tenant_id: tenant.tenant_id } },
          body: {
            workspace_id: form.workspace,
            name: form.name,
            kind: form.kind,
            base_url: form.baseUrl || undefined,
            settings: Object.fromEntries((kind?.settings ?? []).map((f) => [f.name, settings[f.name] ?? ""])),
            note: form.note || undefined,
          },
        }),
      ),
    onSuccess: () => {
      setForm(empty);
      setSettings({});
      return queries.invalidateQueries({ queryKey: ["connectors", tenant.tenant_id] });
    },
  });
  return (
    <section aria-labelledby="install" className="panel">
      <h2 id="install">Install a connector</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          install.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={ids.workspace}>In workspace</label>
          <select id={ids.workspace} value={form.workspace} onChange={set("workspace")} required>
            <option value="">choose a workspace</option>
            {workspaces.data?.items.map((w) => (
              <option key={w.workspace_id} value={w.workspace_id}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.kind}>Connector</label>
          <select id={ids.kind} value={form.kind} onChange={set("kind")} required>
            <option value="">choose a connector</option>
            {kinds.data?.items.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input id={ids.name} value={form.name} onChange={set("name")} required />
        </div>
        <div className="field">
          <label htmlFor={ids.url}>
            API base URL{kind?.default_base_url ? ` (${kind.default_base_url} if empty)` : ""}
          </label>
          <input id={ids.url} value={form.baseUrl} onChange={set("baseUrl")} required={Boolean(kind && !kind.default_base_url)} />
        </div>
        {kind?.settings.map((f) => (
          <div className="field" key={f.name}>
            <label htmlFor={`${settingId}-${f.name}`}>{f.label}</label>
            <input
              id={`${settingId}-${f.name}`}
              value={settings[f.name] ?? ""}
              onChange={(e) => setSettings({ ...settings, [f.name]: e.target.value })}
              required
            />
          </div>
        ))}
        <div className="field">
          <label htmlFor={ids.note}>Note for whoever enters the credentials</label>
          <input id={ids.note} value={form.note} onChange={set("note")} />
        </div>
        {kind && <p>Its setup link will ask for: {kind.credentials.map((f) => f.label).join(", ")}.</p>}
        <button type="submit" className="primary" disabled={install.isPending}>
          Install connector
        </button>
      </form>
      {install.data && (
        <p role="status">
          Installed {install.data.name}.{" "}
          <Link to={install.data.connector_id}>Open it to mint its setup link</Link>
        </p>
      )}
      {install.isError && <ProblemView error={install.error} />}
    </section>
  );
}

/** One connector: its settings, credential versions (never the credentials),
 * setup requests and links, and rotation. */
export function ConnectorDetail() {
  const { tenant, can } = useTenantScope();
  const { connectorId = "" } = useParams();
  const queries = useQueryClient();
  const key = ["connector", tenant.tenant_id, connectorId];
  const path = { tenant_id: tenant.tenant_id, connector_id: connectorId };
  const kinds = useConnectorKinds(tenant.tenant_id);
  const shown = useQuery({
    queryKey: key,
    queryFn: async () =>
      unwrap(await providers.GET("/admin/providers/tenants/{tenant_id}/connectors/{connector_id}", { params: { path } })),
  });
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: key });
    void queries.invalidateQueries({ queryKey: ["connectors", tenant.tenant_id] });
  };
  const rotate = useMutation({
    mutationFn: async () =>
      unwrap(
        await providers.POST("/admin/providers/tenants/{tenant_id}/connectors/{connector_id}/rotate", {
          params: { path },
          body: {},
        }),
      ),
    onSuccess: refresh,
  });
  if (shown.isPending) return <p>Loading the connector…</p>;
  if (shown.isError) return <ProblemView error={shown.error} />;
  const c = shown.data;
  const kind = kinds.data?.items.find((k) => k.kind === c.kind);
  const settings = c.settings as Record<string, string>;
  const open = (c.requests ?? []).some((r) => r.status === "OPEN");
  return (
    <section aria-labelledby="connector">
      <p>
        <Link to=".." relative="path">
          All connectors
        </Link>
      </p>
      <h1 id="connector">
        {c.name} <Badge status={c.status} />
      </h1>
      <dl>
        <dt>Connector</dt>
        <dd>{kind?.label ?? c.kind}</dd>
        <dt>Endpoint</dt>
        <dd>
          <code>{c.base_url}</code>
        </dd>
        {(kind?.settings ?? []).map((f) => (
          <div key={f.name}>
            <dt>{f.label}</dt>
            <dd>{settings[f.name]}</dd>
          </div>
        ))}
      </dl>
      {can("connector_installation", "update") && c.status === "ACTIVE" && !open && (
        <Confirm
          label="Rotate credentials"
          title={`Rotate the credentials of ${c.name}?`}
          confirmLabel="Open rotation"
          onConfirm={() => rotate.mutate()}
        >
          <p>The credentials entered through the new link become active; the current ones stay usable for the grace period.</p>
        </Confirm>
      )}
      {rotate.isError && <ProblemView error={rotate.error} />}
      <SetupRequests
        owner="connector"
        tenantId={tenant.tenant_id}
        requests={c.requests ?? []}
        canWrite={can("connector_installation", "create")}
        onChange={refresh}
      />
      <CredentialVersions versions={c.keys ?? []} what="Credential versions" />
      <Validations validations={c.validations ?? []} />
    </section>
  );
}
