import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { usePermissions } from "../../access";
import { ApiFailure } from "../../api/client";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { when } from "../../ui/when";
import { Issues } from "../packs/Upload";
import type { Issue } from "../packs/document";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";
import {
  type Owner,
  type PolicyRecord,
  type RecordVersion,
  createRecord,
  decideRecord,
  getRecord,
  levelsOf,
  listRecords,
  recordsKey,
  resourceOf,
  saveDraft,
} from "./api";
import { ACTION_CLASSES, GATES, type Level, type RecordForm, emptyForm, fromDocument, toDocument } from "./record";

const LEVELS: Record<Level, string> = {
  platform: "Platform",
  tenant: "Tenant",
  module: "Module",
  tenant_module: "Tenant/module",
};

/** The platform's AI policy records — the platform's own and each module's —
 * which every tenant's policy starts from; platform admins create and publish
 * them. */
export function PlatformPolicies() {
  const { can } = usePermissions();
  return (
    <section aria-labelledby="policies">
      <h1 id="policies">AI policy records</h1>
      <p>
        Policy records at the platform and module levels apply to every tenant. A tenant's own records (under the
        tenant's AI policy) can only tighten them. Provider defaults, such as connection name and model, stay with the
        AI providers.
      </p>
      <RecordList owner={{}} />
      {can("policy_record", "create") && <NewRecord owner={{}} />}
    </section>
  );
}

/** `owner`'s records, each opening on its versions. */
export function RecordList({ owner }: { owner: Owner }) {
  const listed = useQuery({ queryKey: recordsKey(owner), queryFn: () => listRecords(owner) });
  const base = owner.tenantId ? `/tenants/${owner.tenantId}/policy` : "/policies";
  const caption = owner.tenantId ? "The tenant's policy records" : "Platform and module policy records";
  if (listed.isPending) return <p>Loading policy records…</p>;
  if (listed.isError) return <ProblemView error={listed.error} />;
  if (listed.data.items.length === 0) return <p>No policy record yet.</p>;
  return (
    <table aria-label={caption}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Record</th>
          <th scope="col">Level</th>
          <th scope="col">Module</th>
          <th scope="col">Status</th>
          <th scope="col">In force</th>
          <th scope="col">Changed</th>
        </tr>
      </thead>
      <tbody>
        {listed.data.items.map((r) => (
          <tr key={r.record_id}>
            <td>
              <Link to={`${base}/${r.record_id}`}>{r.name}</Link>
            </td>
            <td>{LEVELS[r.level as Level] ?? r.level}</td>
            <td>{r.module_id ?? "every module"}</td>
            <td>
              <Badge status={r.status} />
            </td>
            <td>{r.published_version ? `version ${r.published_version}` : "nothing published"}</td>
            <td>{when(r.updated_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A new record of `owner`: its first version, a draft, to publish from its page. */
export function NewRecord({ owner }: { owner: Owner }) {
  const queries = useQueryClient();
  const navigate = useNavigate();
  const base = owner.tenantId ? `/tenants/${owner.tenantId}/policy` : "/policies";
  const create = useMutation({
    mutationFn: (document: Record<string, unknown>) => createRecord(owner, document),
    onSuccess: (record) => {
      void queries.invalidateQueries({ queryKey: recordsKey(owner) });
      void navigate(`${base}/${record.record_id}`);
    },
  });
  return (
    <section aria-labelledby="new-record" className="panel">
      <h2 id="new-record">New policy record</h2>
      <RecordEditor
        owner={owner}
        initial={emptyForm(owner.tenantId ? "tenant" : "platform")}
        submitLabel="Create draft"
        pending={create.isPending}
        error={create.error}
        onSave={(document) => create.mutate(document)}
      />
    </section>
  );
}

/** A platform record's page (`/policies/:recordId`). */
export function PlatformRecordPage() {
  const { recordId = "" } = useParams();
  const { can } = usePermissions();
  return <RecordPage owner={{}} recordId={recordId} canWrite={can("policy_record", "update")} back="/policies" />;
}

/** A tenant record's page (`/tenants/:tenantId/policy/:recordId`). */
export function TenantRecordPage() {
  const { recordId = "" } = useParams();
  const { tenant, can } = useTenantScope();
  const owner = { tenantId: tenant.tenant_id };
  return (
    <RecordPage
      owner={owner}
      recordId={recordId}
      canWrite={can(resourceOf(owner), "update")}
      back={`/tenants/${tenant.tenant_id}/policy`}
    />
  );
}

/** A record with every version — who published it, when and why — its
 * draft to edit and publish, and retirement. Published versions never change. */
function RecordPage({
  owner,
  recordId,
  canWrite,
  back,
}: {
  owner: Owner;
  recordId: string;
  canWrite: boolean;
  back: string;
}) {
  const record = useQuery({ queryKey: recordsKey(owner, recordId), queryFn: () => getRecord(owner, recordId) });
  if (record.isPending) return <p>Loading the record…</p>;
  if (record.isError) return <ProblemView error={record.error} />;
  const r = record.data;
  const versions = r.versions ?? [];
  const draft = versions.find((v) => v.status === "DRAFT");
  const active = r.status === "ACTIVE";
  return (
    <section aria-labelledby="record">
      <p>
        <Link to={back}>All policy records</Link>
      </p>
      <h1 id="record">{r.name}</h1>
      <p>
        {LEVELS[r.level as Level] ?? r.level} record
        {r.module_id && (
          <>
            {" "}
            of module <code>{r.module_id}</code>
          </>
        )}{" "}
        · <Badge status={r.status} /> ·{" "}
        {r.published_version ? `version ${r.published_version} in force` : "nothing published yet"} · created by{" "}
        {r.created_by} {when(r.created_at)}
      </p>
      {r.retired_at && (
        <p role="status">
          Retired {when(r.retired_at)} by {r.retired_by}: {r.retired_reason}
        </p>
      )}
      <Versions versions={versions} />
      {canWrite && active && (
        <RecordActions owner={owner} record={r} draft={draft} latest={versions[0]} />
      )}
    </section>
  );
}

/** Every version of a record, newest first, each with its document. */
function Versions({ versions }: { versions: RecordVersion[] }) {
  return (
    <table aria-label="Versions">
      <caption>Versions</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Status</th>
          <th scope="col">Published</th>
          <th scope="col">Why</th>
          <th scope="col">Document</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={v.version}>
            <td>{v.version}</td>
            <td>
              <Badge status={v.status} />
            </td>
            <td>
              {v.published_at
                ? `${when(v.published_at)} by ${v.published_by}`
                : `drafted ${when(v.created_at)} by ${v.created_by}`}
            </td>
            <td>{v.reason ?? ""}</td>
            <td>
              <details>
                <summary>Rules of version {v.version}</summary>
                <pre>{JSON.stringify(v.document, null, 2)}</pre>
              </details>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The draft's editor (the next version, drafted from the latest), and the
 * decisions: publish the draft, retire the record — each confirmed with a
 * reason kept with it. */
function RecordActions({
  owner,
  record,
  draft,
  latest,
}: {
  owner: Owner;
  record: PolicyRecord;
  draft?: RecordVersion;
  latest?: RecordVersion;
}) {
  const queries = useQueryClient();
  const refresh = () =>
    Promise.all([
      queries.invalidateQueries({ queryKey: recordsKey(owner) }),
      // The policy in force and the budget the usage is set against.
      queries.invalidateQueries({ queryKey: ["policy-effective"] }),
      queries.invalidateQueries({ queryKey: ["policy-usage"] }),
    ]);
  const save = useMutation({
    mutationFn: (document: Record<string, unknown>) => saveDraft(owner, record.record_id, document),
    onSuccess: refresh,
  });
  const decide = useMutation({
    mutationFn: ({ step, reason }: { step: "publish" | "retire"; reason: string }) =>
      decideRecord(owner, record.record_id, step, reason),
    onSuccess: refresh,
  });
  return (
    <>
      <section aria-labelledby="decisions" className="panel">
        <h2 id="decisions">Decisions</h2>
        <div className="actions">
          <ReasonConfirm
            label={draft ? `Publish version ${draft.version}` : "Publish"}
            title={`Publish version ${draft?.version ?? ""} of ${record.name}`}
            disabled={!draft}
            explain="From now on this version is in force for every decision it applies to, and can no longer change."
            onConfirm={(reason) => decide.mutate({ step: "publish", reason })}
          />
          <ReasonConfirm
            label="Retire record"
            title={`Retire ${record.name}`}
            explain="None of its versions will be in force any more. A retired record cannot be published again."
            onConfirm={(reason) => decide.mutate({ step: "retire", reason })}
          />
        </div>
        {!draft && <p>There is no draft to publish: save one below.</p>}
        {decide.isSuccess && <p role="status">{decide.data.status === "RETIRED" ? "Retired." : "Published."}</p>}
        {decide.isError && <ProblemView error={decide.error} />}
      </section>
      <section aria-labelledby="draft" className="panel">
        <h2 id="draft">{draft ? `Draft version ${draft.version}` : "Next version"}</h2>
        <RecordEditor
          owner={owner}
          initial={fromDocument((draft ?? latest)?.document)}
          scopeLocked
          submitLabel="Save draft"
          pending={save.isPending}
          error={save.error}
          onSave={(document) => save.mutate(document)}
        />
        {save.isSuccess && <p role="status">Draft version {save.data.versions?.[0]?.version} saved.</p>}
      </section>
    </>
  );
}

/** The gate levels as a select's options, after one for `none`. */
export function GateOptions({ none }: { none: string }) {
  return (
    <>
      <option value="">{none}</option>
      {GATES.map((g) => (
        <option key={g.level} value={g.level}>
          {g.label}
        </option>
      ))}
    </>
  );
}

/** A decision that asks for its reason in a confirming dialog. */
export function ReasonConfirm({
  label,
  title,
  explain,
  disabled,
  onConfirm,
}: {
  label: string;
  title: string;
  explain: string;
  disabled?: boolean;
  onConfirm: (reason: string) => void;
}) {
  const id = useId();
  const [reason, setReason] = useState("");
  return (
    <Confirm
      label={label}
      title={title}
      disabled={disabled}
      confirmDisabled={reason.trim() === ""}
      onConfirm={() => {
        onConfirm(reason.trim());
        setReason("");
      }}
    >
      <p>{explain}</p>
      <div className="field">
        <label htmlFor={id}>Reason</label>
        <textarea id={id} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} required />
      </div>
    </Confirm>
  );
}

/** The problems of a refused record at their places in the document, or the
 * problem itself. */
function SaveProblem({ error }: { error: unknown }) {
  const problem = error instanceof ApiFailure ? error.problem : undefined;
  const issues = (problem as { errors?: unknown } | undefined)?.errors;
  if (problem?.code === "policy_invalid" && Array.isArray(issues)) {
    return (
      <>
        <ProblemView error={error} />
        <Issues issues={issues as Issue[]} caption="The record's problems" />
      </>
    );
  }
  return <ProblemView error={error} />;
}

/** A record's guided form: every field the record document has, an empty one
 * setting nothing, and the document it makes. */
function RecordEditor({
  owner,
  initial,
  scopeLocked,
  submitLabel,
  pending,
  error,
  onSave,
}: {
  owner: Owner;
  initial: RecordForm;
  scopeLocked?: boolean;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSave: (document: Record<string, unknown>) => void;
}) {
  const [form, setForm] = useState(initial);
  const id = useId();
  const field = (name: string) => `${id}-${name}`;
  const set =
    (key: keyof RecordForm) =>
    (e: { target: { value: string } }) =>
      setForm({ ...form, [key]: e.target.value });
  const withModule = form.level === "module" || form.level === "tenant_module";
  const document = toDocument(form, owner.tenantId);
  const text = (key: keyof RecordForm, label: string, hint?: string, type = "text") => (
    <div className="field">
      <label htmlFor={field(key)}>{label}</label>
      <input
        id={field(key)}
        type={type}
        min={type === "number" ? 0 : undefined}
        value={form[key] as string}
        onChange={set(key)}
        aria-describedby={hint ? `${field(key)}-hint` : undefined}
      />
      {hint && (
        <small id={`${field(key)}-hint`} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
  const gateSelect = (label: string, value: string, onChange: (gate: string) => void, key: string) => (
    <div className="field" key={key}>
      <label htmlFor={field(key)}>{label}</label>
      <select id={field(key)} value={value} onChange={(e) => onChange(e.target.value)}>
        <GateOptions none="not set" />
      </select>
    </div>
  );
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        onSave(document);
      }}
    >
      <div className="field">
        <label htmlFor={field("name")}>Record name</label>
        <input id={field("name")} value={form.name} onChange={set("name")} required maxLength={120} />
      </div>
      <div className="field">
        <label htmlFor={field("description")}>Description</label>
        <textarea id={field("description")} value={form.description} onChange={set("description")} />
      </div>
      <div className="field">
        <label htmlFor={field("level")}>Level</label>
        <select id={field("level")} value={form.level} onChange={set("level")} disabled={scopeLocked}>
          {levelsOf(owner).map((level) => (
            <option key={level} value={level}>
              {LEVELS[level]}
            </option>
          ))}
        </select>
      </div>
      {withModule && (
        <div className="field">
          <label htmlFor={field("moduleId")}>Module id</label>
          <input
            id={field("moduleId")}
            value={form.moduleId}
            onChange={set("moduleId")}
            required
            disabled={scopeLocked}
          />
        </div>
      )}
      <fieldset>
        <legend>AI providers</legend>
        {text("allowKinds", "Provider kinds allowed", "Comma-separated; only these, e.g. openai, anthropic")}
        {text("denyKinds", "Provider kinds denied")}
        {text("allowModels", "Models allowed", "Comma-separated; only these")}
        {text("denyModels", "Models denied")}
      </fieldset>
      <fieldset>
        <legend>Content</legend>
        <div className="field">
          <label htmlFor={field("sendContent")}>Ticket content sent to providers</label>
          <select id={field("sendContent")} value={form.sendContent} onChange={set("sendContent")}>
            <option value="">not set</option>
            <option value="yes">allowed</option>
            <option value="no">not allowed (metadata only)</option>
          </select>
        </div>
        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={form.redactionRequired}
              onChange={(e) => setForm({ ...form, redactionRequired: e.target.checked })}
            />{" "}
            Content sent must be redacted first
          </label>
        </div>
      </fieldset>
      <fieldset>
        <legend>Tokens</legend>
        {text("perRequestCeiling", "Per-request token ceiling", undefined, "number")}
        {text("monthlyBudget", "Monthly token budget", undefined, "number")}
        <div className="field">
          <label htmlFor={field("overBudget")}>Over budget</label>
          <select id={field("overBudget")} value={form.overBudget} onChange={set("overBudget")}>
            <option value="">not set</option>
            <option value="require_approval">require approval</option>
            <option value="deny">deny</option>
          </select>
        </div>
      </fieldset>
      <fieldset>
        <legend>Human-in-the-loop gates</legend>
        {[...new Set([...ACTION_CLASSES, ...Object.keys(form.gates)])].map((action) =>
          gateSelect(
            `Gate: ${action}`,
            form.gates[action] ?? "",
            (gate) => setForm({ ...form, gates: { ...form.gates, [action]: gate } }),
            `gate-${action}`,
          ),
        )}
        {gateSelect("Gate of other action classes", form.defaultGate, (gate) => setForm({ ...form, defaultGate: gate }), "defaultGate")}
      </fieldset>
      <fieldset>
        <legend>Connectors and health results</legend>
        {text("connectors", "Connectors allowed", "Comma-separated connector kinds, e.g. halopsa")}
        {text("healthSubmitters", "Health results accepted from", "Comma-separated roles, e.g. Runtime, PlatformAdmin")}
        {text("healthMaxAge", "Health results' maximum age (seconds)", undefined, "number")}
      </fieldset>
      <details>
        <summary>Record document</summary>
        <pre aria-label="Record document">{JSON.stringify(document, null, 2)}</pre>
      </details>
      <div className="actions">
        <button type="submit" className="primary" disabled={pending}>
          {submitLabel}
        </button>
      </div>
      {error != null && <SaveProblem error={error} />}
    </form>
  );
}
