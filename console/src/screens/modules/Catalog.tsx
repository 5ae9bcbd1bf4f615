import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link, NavLink, useParams } from "react-router";
import { usePermissions } from "../../access";
import { modules, unwrap } from "../../api/client";
import type { components } from "../../api/generated/module-catalog";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { commaList } from "../../ui/list";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";

type Release = components["schemas"]["Release"];
type CheckResult = components["schemas"]["CheckResult"];

/** The tabs of the platform's module screens. */
export function ModuleTabs() {
  const { can } = usePermissions();
  return (
    <nav aria-label="Modules" className="subnav">
      <NavLink to="/modules" end>
        Catalog
      </NavLink>
      {can("module", "create") && <NavLink to="/modules/import">Import</NavLink>}
      <NavLink to="/modules/deployments">Deployments</NavLink>
      {can("trusted_signer", "read") && <NavLink to="/modules/signers">Trusted signers</NavLink>}
    </nav>
  );
}

/** Every release of the catalog (without manifests). */
export function useReleases() {
  return useQuery({
    queryKey: ["modules"],
    queryFn: async () => unwrap(await modules.GET("/admin/modules")),
  });
}

/** The platform module catalog: every release by module, with its status and
 * whether its trust review passed; each opens on its review and decisions. */
export function ModuleCatalog() {
  const listed = useReleases();
  const byModule = new Map<string, Release[]>();
  for (const release of listed.data?.items ?? []) {
    byModule.set(release.module_id, [...(byModule.get(release.module_id) ?? []), release]);
  }
  return (
    <section aria-labelledby="modules">
      <h1 id="modules">Modules</h1>
      <ModuleTabs />
      <p>
        A release is reviewed when it is imported — schema, source, digest, runtime, references and signature — and
        tenants can enable it only once the platform approves it.
      </p>
      {listed.isPending && <p>Loading the catalog…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No module release is imported yet.</p>}
      {[...byModule.entries()].map(([module, releases]) => (
        <table key={module} aria-label={`Module ${module}`}>
          <caption>
            {releases[0]?.name} <code>{module}</code>
          </caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Status</th>
              <th scope="col">Trust review</th>
              <th scope="col">Image digest</th>
              <th scope="col">Imported</th>
            </tr>
          </thead>
          <tbody>
            {releases.map((r) => (
              <tr key={r.version_id}>
                <td>
                  <Link to={`/modules/${r.module_id}/${r.version}`}>{r.version}</Link>
                </td>
                <td>
                  <Badge status={r.status} />
                </td>
                <td>
                  <Badge status={r.review_passed ? "PASSED" : "FAILED"} />
                </td>
                <td>
                  <code>{r.image_digest.slice(0, 19)}…</code>
                </td>
                <td>
                  {when(r.imported_at)} by {r.imported_by}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}

/** Every check of a review with its state, what it found and each problem at
 * its JSON pointer. */
export function ReviewChecks({ checks, caption }: { checks: CheckResult[]; caption: string }) {
  return (
    <table aria-label={caption}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Check</th>
          <th scope="col">Result</th>
          <th scope="col">Found</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((c) => (
          <tr key={c.check}>
            <td>{c.check}</td>
            <td>
              <Badge status={c.state.toUpperCase()} />
            </td>
            <td>
              {c.detail}
              {c.problems.length > 0 && (
                <ul>
                  {c.problems.map((p, i) => (
                    <li key={`${p.pointer}-${i}`}>
                      <code>{p.pointer || "/"}</code> {p.message}
                    </li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const REVOKE = {
  decision: "revoke",
  label: "Revoke",
  consequence: "Every tenant that runs it is flagged to move off it, and its deployments drift.",
} as const;

/** The decisions each status allows, as the catalog's lifecycle has them. */
const DECISIONS: Record<string, { decision: Decision; label: string; consequence: string }[]> = {
  IMPORTED: [
    { decision: "approve", label: "Approve", consequence: "Tenants entitled to the module can enable this release." },
    { decision: "reject", label: "Reject", consequence: "No tenant can ever enable this release." },
  ],
  APPROVED: [
    { decision: "deprecate", label: "Deprecate", consequence: "No new enablement; tenants that run it keep it." },
    REVOKE,
  ],
  DEPRECATED: [REVOKE],
};

type Decision = "approve" | "reject" | "deprecate" | "revoke" | "review";

/** One release: what its manifest says, its latest trust review check by
 * check, and the platform's decisions on it, each confirmed with a reason. */
export function ModuleRelease() {
  const { moduleId = "", version = "" } = useParams();
  const { can } = usePermissions();
  const queries = useQueryClient();
  const release = useQuery({
    queryKey: ["module", moduleId, version],
    queryFn: async () =>
      unwrap(
        await modules.GET("/admin/modules/{module_id}/{version}", {
          params: { path: { module_id: moduleId, version } },
        }),
      ),
  });
  const decide = useMutation({
    mutationFn: async ({ decision, reason }: { decision: Decision; reason?: string }) =>
      unwrap(
        await modules.POST("/admin/modules/{module_id}/{version}/{decision}", {
          params: { path: { module_id: moduleId, version, decision } },
          body: { reason: reason ?? null },
        }),
      ),
    onSuccess: (next) => {
      queries.setQueryData(["module", moduleId, version], next);
      void queries.invalidateQueries({ queryKey: ["modules"] });
      void queries.invalidateQueries({ queryKey: ["deployments"] });
    },
  });
  if (release.isPending) return <p>Loading the release…</p>;
  if (release.isError) return <ProblemView error={release.error} />;
  const r = release.data;
  const manifest = (r.manifest ?? {}) as Record<string, unknown>;
  const tools = (manifest.tools as { id: string; action_class: string }[] | undefined) ?? [];
  const requires = (manifest.requires as { connectors?: string[]; ai_providers?: string[] } | undefined) ?? {};
  const runtime = (manifest.runtime as { kind?: string; min_platform_version?: string } | undefined) ?? {};
  return (
    <section aria-labelledby="release">
      <h1 id="release">
        {r.name} {r.version}
      </h1>
      <ModuleTabs />
      <p>
        <Badge status={r.status} /> <code>{r.module_id}</code>
        {r.decided_at && (
          <>
            {" "}
            — {r.status.toLowerCase()} {when(r.decided_at)} by {r.decided_by}: {r.decision_reason}
          </>
        )}
      </p>
      <dl className="facts">
        <dt>Source</dt>
        <dd>{r.source_repository}</dd>
        <dt>Image</dt>
        <dd>
          <code>{r.image}</code>
        </dd>
        <dt>Runtime</dt>
        <dd>
          {runtime.kind}, platform {runtime.min_platform_version} or later
        </dd>
        <dt>Tools</dt>
        <dd>{tools.map((t) => `${t.id} (${t.action_class})`).join(", ")}</dd>
        <dt>Needs</dt>
        <dd>
          connectors: {(requires.connectors ?? []).join(", ") || "none"}; AI providers:{" "}
          {(requires.ai_providers ?? []).join(", ") || "none"}
        </dd>
        <dt>Data mode</dt>
        <dd>{String(manifest.data_mode ?? "")}</dd>
      </dl>
      {r.review ? (
        <ReviewChecks
          checks={r.review.checks}
          caption={`Trust review ${r.review.passed ? "passed" : "failed"}, ${when(r.review.reviewed_at)}`}
        />
      ) : (
        <p>No review is stored.</p>
      )}
      {can("module", "update") && (
        <div className="actions">
          {(DECISIONS[r.status] ?? []).map((d) => (
            <DecisionButton
              key={d.decision}
              label={`${d.label} ${r.module_id} ${r.version}`}
              title={`${d.label} ${r.name} ${r.version}?`}
              confirmLabel={d.label}
              consequence={d.consequence}
              disabled={d.decision === "approve" && !r.review_passed}
              onDecide={(reason) => decide.mutate({ decision: d.decision, reason })}
            />
          ))}
          {r.status === "IMPORTED" && (
            <button type="button" onClick={() => decide.mutate({ decision: "review" })}>
              Review again
            </button>
          )}
        </div>
      )}
      {r.status === "IMPORTED" && !r.review_passed && can("module", "update") && (
        <p>A release is approved only when every check of its latest review passed.</p>
      )}
      {decide.isError && <ProblemView error={decide.error} />}
    </section>
  );
}

/** A decision's button: its dialog says what follows and asks for the reason
 * kept with the release and in the audit trail. */
function DecisionButton({
  label,
  title,
  confirmLabel,
  consequence,
  disabled,
  onDecide,
}: {
  label: string;
  title: string;
  confirmLabel: string;
  consequence: string;
  disabled: boolean;
  onDecide: (reason: string) => void;
}) {
  const [reason, setReason] = useState("");
  const id = useId();
  return (
    <Confirm
      label={label}
      title={title}
      confirmLabel={confirmLabel}
      disabled={disabled}
      confirmDisabled={!reason.trim()}
      onConfirm={() => onDecide(reason.trim())}
    >
      <p>{consequence}</p>
      <div className="field">
        <label htmlFor={id}>Reason</label>
        <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} />
      </div>
    </Confirm>
  );
}

/** Approved manifests beside deployed image tags, per module in this region:
 * a deployed digest no approved release has is drift. */
export function ModuleDeployments() {
  const listed = useQuery({
    queryKey: ["deployments"],
    queryFn: async () => unwrap(await modules.GET("/admin/deployments")),
  });
  return (
    <section aria-labelledby="deployments">
      <h1 id="deployments">Module deployments</h1>
      <ModuleTabs />
      <p>
        The deployment system reports what each module runs here, by tag and the digest it resolved to; the catalog
        matches each digest against the module's approved releases.
      </p>
      {listed.isPending && <p>Loading deployments…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No module is approved or deployed here yet.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table aria-label="Approved and deployed">
          <thead>
            <tr>
              <th scope="col">Module</th>
              <th scope="col">Approved releases</th>
              <th scope="col">Deployed images</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((m) => (
              <tr key={m.module_id}>
                <td>
                  <code>{m.module_id}</code>
                </td>
                <td>
                  {m.approved.length === 0
                    ? "none"
                    : m.approved.map((a) => (
                        <div key={a.version}>
                          {a.version} <Badge status={a.status} /> <code>{a.image_digest.slice(0, 19)}…</code>
                        </div>
                      ))}
                </td>
                <td>
                  {m.deployed.length === 0
                    ? "not deployed"
                    : m.deployed.map((d) => (
                        <div key={d.image}>
                          <code>{d.image}</code> → <code>{d.image_digest.slice(0, 19)}…</code>{" "}
                          {d.version ? `(release ${d.version})` : "(no approved release)"}{" "}
                          {d.drift && <Badge status="DRIFT" />}
                        </div>
                      ))}
                </td>
                <td>
                  <Badge status={m.drift ? "DRIFT" : m.deployed.length ? "IN_SYNC" : "UNKNOWN"} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The platform's trusted signers: whose release signatures count, for which
 * sources, until when; added, expired and revoked by platform admins. */
export function TrustedSigners() {
  const { can } = usePermissions();
  const queries = useQueryClient();
  const listed = useQuery({
    queryKey: ["signers"],
    queryFn: async () => unwrap(await modules.GET("/admin/trust/signers")),
  });
  const end = useMutation({
    mutationFn: async ({ signer, reason }: { signer: string; reason?: string }) =>
      unwrap(
        reason
          ? await modules.POST("/admin/trust/signers/{signer_id}/revoke", {
              params: { path: { signer_id: signer } },
              body: { reason },
            })
          : await modules.POST("/admin/trust/signers/{signer_id}/expire", {
              params: { path: { signer_id: signer } },
            }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["signers"] }),
  });
  const now = Date.now();
  return (
    <section aria-labelledby="signers">
      <h1 id="signers">Trusted signers</h1>
      <ModuleTabs />
      <p>
        A release's signature counts only when a key here, valid now and trusted for the release's source, made it.
        Reviews take a change into account when a release is reviewed again.
      </p>
      {can("trusted_signer", "create") && <AddSigner />}
      {listed.isPending && <p>Loading signers…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No signer is trusted yet: no release can pass its review.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table aria-label="Signers">
          <thead>
            <tr>
              <th scope="col">Identity</th>
              <th scope="col">Key</th>
              <th scope="col">Sources</th>
              <th scope="col">Valid</th>
              <th scope="col">State</th>
              {can("trusted_signer", "update") && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((s) => {
              const state = s.revoked_at ? "REVOKED" : Date.parse(s.not_after) <= now ? "EXPIRED" : "ACTIVE";
              return (
                <tr key={s.signer_id}>
                  <td>{s.identity}</td>
                  <td>
                    <code>{s.key_id}</code> ({s.algorithm})
                  </td>
                  <td>{s.sources.join(", ")}</td>
                  <td>
                    {when(s.not_before)} – {when(s.not_after)}
                  </td>
                  <td>
                    <Badge status={state} />
                  </td>
                  {can("trusted_signer", "update") && (
                    <td>
                      {state === "ACTIVE" && (
                        <>
                          <Confirm
                            label={`Expire ${s.key_id}`}
                            title={`Expire ${s.key_id} now?`}
                            confirmLabel="Expire"
                            onConfirm={() => end.mutate({ signer: s.signer_id })}
                          >
                            <p>Its validity ends now: signatures it makes from now on do not count.</p>
                          </Confirm>{" "}
                          <DecisionButton
                            label={`Revoke ${s.key_id}`}
                            title={`Revoke ${s.key_id}?`}
                            confirmLabel="Revoke"
                            consequence="None of its signatures counts any more, made before or after."
                            disabled={false}
                            onDecide={(reason) => end.mutate({ signer: s.signer_id, reason })}
                          />
                        </>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {end.isError && <ProblemView error={end.error} />}
    </section>
  );
}

function AddSigner() {
  const queries = useQueryClient();
  const ids = { identity: useId(), algorithm: useId(), keyId: useId(), key: useId(), sources: useId(), until: useId() };
  const [form, setForm] = useState({
    identity: "",
    algorithm: "ed25519",
    keyId: "",
    publicKey: "",
    sources: "",
    notAfter: "",
  });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await modules.POST("/admin/trust/signers", {
          body: {
            identity: form.identity,
            algorithm: form.algorithm,
            key_id: form.keyId,
            public_key: form.publicKey,
            sources: commaList(form.sources),
            not_after: form.notAfter ? new Date(form.notAfter).toISOString() : "",
          },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["signers"] }),
  });
  return (
    <section aria-labelledby="add-signer" className="panel">
      <h2 id="add-signer">Trust a signer</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={ids.identity}>Identity</label>
          <input id={ids.identity} value={form.identity} onChange={set("identity")} required />
        </div>
        <div className="field">
          <label htmlFor={ids.algorithm}>Algorithm</label>
          <select id={ids.algorithm} value={form.algorithm} onChange={set("algorithm")}>
            <option value="ed25519">Ed25519</option>
            <option value="ecdsa-p256">ECDSA P-256</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.keyId}>Key id</label>
          <input id={ids.keyId} value={form.keyId} onChange={set("keyId")} required />
        </div>
        <div className="field">
          <label htmlFor={ids.key}>Public key (PEM, or an Ed25519 key in hex)</label>
          <textarea id={ids.key} value={form.publicKey} onChange={set("publicKey")} rows={5} required />
        </div>
        <div className="field">
          <label htmlFor={ids.sources}>Sources it signs for (host/organisation, comma-separated)</label>
          <input id={ids.sources} value={form.sources} onChange={set("sources")} required />
        </div>
        <div className="field">
          <label htmlFor={ids.until}>Valid until</label>
          <input id={ids.until} type="date" value={form.notAfter} onChange={set("notAfter")} required />
        </div>
        <button type="submit" className="primary" disabled={add.isPending}>
          Trust signer
        </button>
      </form>
      {add.data && <p role="status">Trusted: {add.data.key_id}</p>}
      {add.isError && <ProblemView error={add.error} />}
    </section>
  );
}
