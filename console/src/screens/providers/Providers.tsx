import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiFailure, providers, unwrap } from "../../api/client";
import type { components } from "../../api/generated/provider-setup";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";
import { CredentialVersions, Validations } from "./Versions";
import { SetupRequests } from "./SetupRequests";

type Connection = components["schemas"]["Connection"];
type Considered = components["schemas"]["Considered"];

const KINDS: { kind: string; label: string }[] = [
  { kind: "openai", label: "OpenAI" },
  { kind: "azure_openai", label: "Azure OpenAI" },
  { kind: "anthropic", label: "Anthropic" },
];

export const kindLabel = (kind: string) => KINDS.find((k) => k.kind === kind)?.label ?? kind;

/** The selected tenant's AI provider connections — its own, and the pooled
 * ones the platform shares with it under limits — with their health, which one
 * the runtime would use now, and (where the caller may) a new setup request.
 * The console creates the request only: the key is entered later, through a
 * delegated setup link, on the setup surface. */
export function TenantProviders() {
  const { tenant, can } = useTenantScope();
  const listed = useQuery({
    queryKey: ["connections", tenant.tenant_id],
    queryFn: async () =>
      unwrap(
        await providers.GET("/admin/providers/tenants/{tenant_id}/connections", {
          params: { path: { tenant_id: tenant.tenant_id } },
        }),
      ),
  });
  return (
    <section aria-labelledby="providers">
      <h1 id="providers">AI providers of {tenant.display_name}</h1>
      <p>
        Provider keys never pass through this console: a setup request is created here, and the key is entered later
        through a single-use setup link, checked with the provider and stored encrypted.
      </p>
      {listed.isPending && <p>Loading connections…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No provider connection yet.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table aria-label="Provider connections">
          <thead>
            <tr>
              <th scope="col">Connection</th>
              <th scope="col">Provider</th>
              <th scope="col">Ownership</th>
              <th scope="col">Default model</th>
              <th scope="col">Status</th>
              <th scope="col">Health</th>
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((c) => (
              <tr key={c.connection_id}>
                <td>
                  <Link to={c.connection_id}>{c.name}</Link>
                </td>
                <td>{kindLabel(c.kind)}</td>
                <td>
                  {c.pooled
                    ? `pooled: ${c.grant?.requests_per_minute ?? "?"} requests/min, ${
                        c.grant?.tokens_per_month.toLocaleString("en") ?? "?"
                      } tokens/month`
                    : "the tenant's own"}
                </td>
                <td>{c.default_model}</td>
                <td>
                  <Badge status={c.status} />
                </td>
                <td>
                  {c.health_status ? (
                    <>
                      <Badge status={c.health_status} /> {when(c.health_checked_at)}
                    </>
                  ) : (
                    "not checked yet"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <RuntimeSelection tenantId={tenant.tenant_id} />
      {can("provider_connection", "create") && <NewSetupRequest />}
    </section>
  );
}

/** Which connection the runtime would call for the tenant now, and why; or
 * why none is ready. */
function RuntimeSelection({ tenantId }: { tenantId: string }) {
  const selection = useQuery({
    queryKey: ["selection", tenantId],
    retry: false,
    queryFn: async () =>
      unwrap(
        await providers.GET("/runtime/providers/tenants/{tenant_id}/selection", {
          params: { path: { tenant_id: tenantId }, query: {} },
        }),
      ),
  });
  const problem = selection.error instanceof ApiFailure ? selection.error.problem : undefined;
  return (
    <section aria-labelledby="selection" className="panel">
      <h2 id="selection">Runtime selection</h2>
      {selection.isPending && <p>Asking which connection the runtime would use…</p>}
      {selection.data && (
        <p role="status">
          The runtime uses <strong>{selection.data.name}</strong> ({kindLabel(selection.data.kind)},{" "}
          {selection.data.model}, key version {selection.data.active_version}): {selection.data.reason}.
        </p>
      )}
      {problem?.code === "no_ready_connection" ? (
        <>
          <p role="status">No connection is ready for the runtime.</p>
          <ul aria-label="Connections passed over">
            {considered(problem).map((c) => (
              <li key={c.connection_id}>
                {c.name}: {c.reason}
              </li>
            ))}
          </ul>
        </>
      ) : (
        selection.isError && <ProblemView error={selection.error} />
      )}
    </section>
  );
}

/** The connections a refused selection passed over, each with why (the
 * problem's `considered`). */
function considered(problem: object): Considered[] {
  const list = (problem as { considered?: unknown }).considered;
  return Array.isArray(list) ? (list as Considered[]) : [];
}

/** A new connection and its setup request: no key here. */
function NewSetupRequest() {
  const { tenant } = useTenantScope();
  const queries = useQueryClient();
  const ids = {
    name: useId(),
    kind: useId(),
    url: useId(),
    deployment: useId(),
    version: useId(),
    model: useId(),
    note: useId(),
  };
  const empty = { name: "", kind: "openai", baseUrl: "", deployment: "", apiVersion: "", model: "", note: "" };
  const [form, setForm] = useState(empty);
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });
  const azure = form.kind === "azure_openai";
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await providers.POST("/admin/providers/tenants/{tenant_id}/connections", {
          params: { path: { tenant_id: tenant.tenant_id } },
          body: {
            name: form.name,
            kind: form.kind,
            base_url: form.baseUrl || undefined,
            deployment: azure ? form.deployment : undefined,
            api_version: azure ? form.apiVersion : undefined,
            default_model: form.model,
            note: form.note || undefined,
          },
        }),
      ),
    onSuccess: () => {
      setForm(empty);
      return queries.invalidateQueries({ queryKey: ["connections", tenant.tenant_id] });
    },
  });
  return (
    <section aria-labelledby="new-request" className="panel">
      <h2 id="new-request">New provider setup request</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={ids.name}>Connection name</label>
          <input id={ids.name} value={form.name} onChange={set("name")} required />
        </div>
        <div className="field">
          <label htmlFor={ids.kind}>Provider</label>
          <select id={ids.kind} value={form.kind} onChange={set("kind")}>
            {KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.url}>{azure ? "Resource endpoint" : "API base URL (the provider's public API if empty)"}</label>
          <input id={ids.url} value={form.baseUrl} onChange={set("baseUrl")} required={azure} />
        </div>
        {azure && (
          <>
            <div className="field">
              <label htmlFor={ids.deployment}>Deployment</label>
              <input id={ids.deployment} value={form.deployment} onChange={set("deployment")} required />
            </div>
            <div className="field">
              <label htmlFor={ids.version}>API version</label>
              <input id={ids.version} value={form.apiVersion} onChange={set("apiVersion")} required />
            </div>
          </>
        )}
        <div className="field">
          <label htmlFor={ids.model}>Default model</label>
          <input id={ids.model} value={form.model} onChange={set("model")} required />
        </div>
        <div className="field">
          <label htmlFor={ids.note}>Note for whoever enters the key</label>
          <input id={ids.note} value={form.note} onChange={set("note")} />
        </div>
        <button type="submit" className="primary" disabled={create.isPending}>
          Create setup request
        </button>
      </form>
      {create.data && (
        <p role="status">
          Setup request created for {create.data.name}.{" "}
          <Link to={create.data.connection_id}>Open it to mint its setup link</Link>
        </p>
      )}
      {create.isError && <ProblemView error={create.error} />}
    </section>
  );
}

/** One connection: its key versions (never a key), setup requests and links,
 * validations, health (check now, or submit a result through the platform's
 * gate), and rotation. A pooled connection shows the tenant's limits only. */
export function ConnectionDetail() {
  const { tenant, can } = useTenantScope();
  const { connectionId = "" } = useParams();
  const queries = useQueryClient();
  const key = ["connection", tenant.tenant_id, connectionId];
  const path = { tenant_id: tenant.tenant_id, connection_id: connectionId };
  const shown = useQuery({
    queryKey: key,
    queryFn: async () =>
      unwrap(await providers.GET("/admin/providers/tenants/{tenant_id}/connections/{connection_id}", { params: { path } })),
  });
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: key });
    void queries.invalidateQueries({ queryKey: ["connections", tenant.tenant_id] });
    void queries.invalidateQueries({ queryKey: ["selection", tenant.tenant_id] });
  };
  const rotate = useMutation({
    mutationFn: async () =>
      unwrap(
        await providers.POST("/admin/providers/tenants/{tenant_id}/connections/{connection_id}/rotate", {
          params: { path },
          body: {},
        }),
      ),
    onSuccess: refresh,
  });
  if (shown.isPending) return <p>Loading the connection…</p>;
  if (shown.isError) return <ProblemView error={shown.error} />;
  const c: Connection = shown.data;
  const writes = can("provider_connection", "update");
  const open = (c.requests ?? []).some((r) => r.status === "OPEN");
  return (
    <section aria-labelledby="connection">
      <p>
        <Link to=".." relative="path">
          All provider connections
        </Link>
      </p>
      <h1 id="connection">
        {c.name} <Badge status={c.status} />
      </h1>
      <dl>
        <dt>Provider</dt>
        <dd>{kindLabel(c.kind)}</dd>
        <dt>Endpoint</dt>
        <dd>
          <code>{c.base_url}</code>
          {c.deployment && ` · deployment ${c.deployment} · API version ${c.api_version}`}
        </dd>
        <dt>Default model</dt>
        <dd>{c.default_model}</dd>
        <dt>Ownership</dt>
        <dd>
          {c.pooled
            ? `pooled by the platform: ${c.grant?.requests_per_minute ?? "?"} requests a minute, ${
                c.grant?.tokens_per_month.toLocaleString("en") ?? "?"
              } tokens a month for this tenant`
            : "the tenant's own"}
        </dd>
      </dl>
      {!c.pooled && (
        <>
          {writes && c.status === "ACTIVE" && !open && (
            <Confirm label="Rotate key" title={`Rotate the key of ${c.name}?`} confirmLabel="Open rotation" onConfirm={() => rotate.mutate()}>
              <p>
                A rotation request opens: the key entered through its link becomes active, and the current one stays
                usable for the grace period, then is destroyed.
              </p>
            </Confirm>
          )}
          {rotate.isError && <ProblemView error={rotate.error} />}
          <SetupRequests
            owner="connection"
            tenantId={tenant.tenant_id}
            requests={c.requests ?? []}
            canWrite={can("provider_connection", "create")}
            onChange={refresh}
          />
          <CredentialVersions versions={c.keys ?? []} what="Key versions" />
          <Validations validations={c.validations ?? []} />
          <Health connection={c} onChange={refresh} />
        </>
      )}
    </section>
  );
}

const STATUSES = ["ready", "degraded", "rate_limited", "auth_failed", "unreachable"];

/** The connection's normalized health: its results, a check now, and a result
 * observed elsewhere submitted through the platform's gate. */
function Health({ connection, onChange }: { connection: Connection; onChange: () => void }) {
  const { tenant, can } = useTenantScope();
  const path = { tenant_id: tenant.tenant_id, connection_id: connection.connection_id };
  const ids = { status: useId(), latency: useId(), error: useId() };
  const [form, setForm] = useState({ status: "ready", latency: "", errorClass: "" });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const check = useMutation({
    mutationFn: async () =>
      unwrap(
        await providers.POST("/admin/providers/tenants/{tenant_id}/connections/{connection_id}/health/check", {
          params: { path },
        }),
      ),
    onSuccess: onChange,
  });
  const submit = useMutation({
    mutationFn: async () =>
      unwrap(
        await providers.POST("/admin/providers/tenants/{tenant_id}/connections/{connection_id}/health", {
          params: { path },
          body: {
            status: form.status,
            latency_ms: Number(form.latency),
            error_class: form.errorClass || undefined,
          },
        }),
      ),
    onSuccess: onChange,
  });
  const records = connection.health ?? [];
  return (
    <section aria-labelledby="health" className="panel">
      <h2 id="health">Provider health</h2>
      {records.length === 0 && <p>No health result yet.</p>}
      {records.length > 0 && (
        <table aria-label="Health results">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
              <th scope="col">Error, answer</th>
              <th scope="col">Source</th>
              <th scope="col">Observed</th>
            </tr>
          </thead>
          <tbody>
            {records.map((h) => (
              <tr key={h.record_id}>
                <td>
                  <Badge status={h.status} />
                </td>
                <td>{h.latency_ms} ms</td>
                <td>{[h.error_class, h.http_status && `HTTP ${h.http_status}`].filter(Boolean).join(", ")}</td>
                <td>
                  {h.source} by {h.recorded_by}
                </td>
                <td>{when(h.observed_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {connection.status === "ACTIVE" && can("provider_connection", "update") && (
        <button type="button" disabled={check.isPending} onClick={() => check.mutate()}>
          Check now
        </button>
      )}
      {check.data && <p role="status">Checked: {check.data.status}, {check.data.latency_ms} ms.</p>}
      {check.isError && <ProblemView error={check.error} />}
      {connection.status === "ACTIVE" && can("provider_health", "create") && (
        <form
          aria-labelledby="submit-health"
          onSubmit={(e) => {
            e.preventDefault();
            submit.mutate();
          }}
        >
          <h3 id="submit-health">Submit a health result</h3>
          <p>A result observed elsewhere is recorded once the platform's gate accepts it.</p>
          <div className="field">
            <label htmlFor={ids.status}>Observed status</label>
            <select id={ids.status} value={form.status} onChange={set("status")}>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.latency}>Latency (ms)</label>
            <input id={ids.latency} type="number" min={0} value={form.latency} onChange={set("latency")} required />
          </div>
          <div className="field">
            <label htmlFor={ids.error}>Error class (optional)</label>
            <input id={ids.error} value={form.errorClass} onChange={set("errorClass")} />
          </div>
          <button type="submit" className="primary" disabled={submit.isPending}>
            Submit health result
          </button>
        </form>
      )}
      {submit.data && <p role="status">Recorded: {submit.data.status}.</p>}
      {submit.isError && <ProblemView error={submit.error} />}
    </section>
  );
}
