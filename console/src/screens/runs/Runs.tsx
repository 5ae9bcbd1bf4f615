import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link, useParams } from "react-router";
import { policy, unwrap } from "../../api/client";
import type { components } from "../../api/generated/policy";
import { Badge } from "../../ui/Badge";
import { Confirm } from "../../ui/Confirm";
import { ReasonConfirm } from "../policy/Records";
import { ProblemView } from "../ProblemView";
import { useTenantScope } from "../TenantContext";

type Run = components["schemas"]["RunView"];
type Step = components["schemas"]["StepView"];
type Approval = components["schemas"]["ApprovalView"];
type ApprovalItem = components["schemas"]["ApprovalItem"];

const RUN_STATUSES = ["RUNNING", "WAITING_APPROVAL", "WAITING_HUMAN", "SUCCEEDED", "FAILED", "CANCELLED"];

const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString("en-GB", { timeZone: "UTC" }) + " UTC" : "—");

/** What a run runs, as a person reads it: `invoice-dispute-triage 1.2.0 (workflow)`. */
const subjectOf = (run: Run) => `${run.subject.id} ${run.subject.version} (${run.subject.kind})`;

/** What triggered a run: its source and the ticket's identifiers. */
const triggerOf = (run: Run) =>
  [run.trigger.source, run.trigger.ticket_id, run.trigger.event_type, run.trigger.category, run.trigger.priority]
    .filter(Boolean)
    .join(" · ");

/** How often a screen looks again at runs that are still going: the runtime
 * moves them on without the reader doing anything. */
const LIVE_MS = 2000;

/** Whether a run has ended: its page stops looking for changes. */
const ended = (status: string | undefined) => status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED";

/** The selected tenant's runs, newest first: what ran, where, for whom, and
 * how it stands, kept current while the page is open; each opens on its
 * timeline of steps. */
export function TenantRuns() {
  const { tenant } = useTenantScope();
  const id = useId();
  const [status, setStatus] = useState("");
  const runs = useQuery({
    queryKey: ["runs", tenant.tenant_id, status],
    queryFn: async () =>
      unwrap(
        await policy.GET("/admin/policies/tenants/{tenant_id}/runs", {
          params: { path: { tenant_id: tenant.tenant_id }, query: { status: status || undefined } },
        }),
      ),
    refetchInterval: LIVE_MS,
  });
  return (
    <section aria-labelledby="runs">
      <h1 id="runs">Runs of {tenant.display_name}</h1>
      <p>
        Each step of a run is decided at its gate before it runs: L0 proceeds, L1 proceeds and notifies, L2 waits for an
        approver (<Link to="../approvals">approvals</Link>), L3 is done by a person.
      </p>
      <div className="field">
        <label htmlFor={id}>Status</label>
        <select id={id} value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">every status</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      {runs.isPending && <p>Loading the runs…</p>}
      {runs.isError && <ProblemView error={runs.error} />}
      {runs.data &&
        (runs.data.items.length === 0 ? (
          <p>No run {status ? `is ${status}` : "yet"}.</p>
        ) : (
          <table aria-label="Runs">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Runs</th>
                <th scope="col">Workspace</th>
                <th scope="col">Triggered by</th>
                <th scope="col">Steps</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((run) => (
                <tr key={run.run_id}>
                  <td>
                    <Link to={run.run_id}>{when(run.started_at)}</Link>
                  </td>
                  <td>{subjectOf(run)}</td>
                  <td>
                    <code>{run.workspace_id}</code>
                  </td>
                  <td>{triggerOf(run)}</td>
                  <td>{run.step_count}</td>
                  <td>
                    <Badge status={run.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}

/** One run: what triggered it, and the timeline of its steps — each gate's
 * decision and why, the AI's decision support, who approved and when, how the
 * step ended — kept current until the run ends. An approver decides a waiting
 * step here; a person marks a human-only step done. */
export function RunPage() {
  const { tenant } = useTenantScope();
  const { runId = "" } = useParams();
  const run = useQuery({
    queryKey: ["run", tenant.tenant_id, runId],
    queryFn: async () =>
      unwrap(
        await policy.GET("/admin/policies/tenants/{tenant_id}/runs/{run_id}", {
          params: { path: { tenant_id: tenant.tenant_id, run_id: runId } },
        }),
      ),
    refetchInterval: (query) => (ended(query.state.data?.status) || query.state.error ? false : LIVE_MS),
  });
  if (run.isPending) return <p>Loading the run…</p>;
  if (run.isError) return <ProblemView error={run.error} />;
  const r = run.data;
  return (
    <section aria-labelledby="run">
      <h1 id="run">
        Run of {r.subject.id} <Badge status={r.status} />
      </h1>
      <dl aria-label="Run">
        <dt>Runs</dt>
        <dd>{subjectOf(r)}</dd>
        <dt>Configuration</dt>
        <dd>{r.config_version ?? "—"}</dd>
        <dt>Workspace</dt>
        <dd>
          <code>{r.workspace_id}</code>
        </dd>
        <dt>Triggered by</dt>
        <dd>{triggerOf(r)}</dd>
        <dt>For</dt>
        <dd>{r.requested_by ?? "—"}</dd>
        <dt>Started</dt>
        <dd>{when(r.started_at)}</dd>
        <dt>Ended</dt>
        <dd>{when(r.ended_at)}</dd>
      </dl>
      <h2>Steps</h2>
      {(r.steps ?? []).length === 0 ? (
        <p>No step yet.</p>
      ) : (
        <ol aria-label="Steps" className="timeline">
          {(r.steps ?? []).map((step) => (
            <StepItem key={step.seq} step={step} run={r} />
          ))}
        </ol>
      )}
    </section>
  );
}

/** One step of the timeline. */
function StepItem({ step, run }: { step: Step; run: Run }) {
  const { can } = useTenantScope();
  const reasons = (step.reasons as { code: string; detail: string }[]).map((r) => r.detail).join("; ");
  return (
    <li aria-label={`Step ${step.seq}: ${step.step_key}`}>
      <h3>
        {step.seq}. {step.step_key} <Badge status={step.status} />
      </h3>
      <p>
        <code>{step.action_class}</code>
        {step.tool && (
          <>
            {" "}
            with <code>{step.tool}</code>
          </>
        )}{" "}
        · gate <strong>{step.gate}</strong> (workspace tier {step.workspace_tier}) · {step.decision.replaceAll("_", " ")}{" "}
        · decided {when(step.decided_at)}
      </p>
      <p>Why: {reasons || "—"}</p>
      {step.support && <SupportView step={step} />}
      {step.approval && <ApprovalView approval={step.approval} />}
      {step.approval?.status === "PENDING" && can("approval_request", "update") && (
        <DecideApproval approval={step.approval} runId={run.run_id} />
      )}
      {step.status === "WAITING_HUMAN" && can("human_step", "update") && <MarkDone step={step} />}
      {step.ended_at && (
        <p>
          Ended {when(step.ended_at)} by {step.ended_by}
          {step.outcome && <>: {step.outcome}</>}
          {step.rollback && <> · rolled back: {step.rollback}</>}
          {step.tokens_in + step.tokens_out > 0 && (
            <>
              {" "}
              · {step.provider_kind} {step.model} · {step.tokens_in} tokens in, {step.tokens_out} out
            </>
          )}
        </p>
      )}
    </li>
  );
}

/** The AI's decision support, as the runtime gave it. */
function SupportView({ step }: { step: Step }) {
  const s = step.support!;
  return (
    <div aria-label="Decision support" className="panel">
      <p>
        Risk: <strong>{s.risk ?? "not given"}</strong>
        {s.confidence != null && <> · confidence {Math.round(s.confidence * 100)}%</>}
      </p>
      {s.change && <p>Will change: {s.change}</p>}
      {s.recommendation && <p>AI recommends: {s.recommendation}</p>}
      {s.withheld && <p>The recommendation's text is not kept: the workspace is metadata-only.</p>}
    </div>
  );
}

/** An approval request: its state, whom the run acts for, who decided, when,
 * why. */
function ApprovalView({ approval: a }: { approval: Approval }) {
  return (
    <p aria-label="Approval request">
      Approval <Badge status={a.status} />{" "}
      {a.status === "PENDING" ? (
        <>expires {when(a.expires_at)}</>
      ) : a.status === "EXPIRED" ? (
        <>expired {when(a.decided_at)} undecided: it counts as rejected</>
      ) : (
        <>
          by {a.decided_by} at {when(a.decided_at)}: {a.reason}
        </>
      )}
      {a.requested_by && <> · requested for {a.requested_by}</>}
    </p>
  );
}

/** Approve or reject, each with its reason in a confirming dialog. */
function DecideApproval({ approval, runId }: { approval: Approval; runId: string }) {
  const { tenant } = useTenantScope();
  const queries = useQueryClient();
  const decide = useMutation({
    mutationFn: async ({ decision, reason }: { decision: "approve" | "reject"; reason: string }) =>
      unwrap(
        await policy.POST("/admin/policies/tenants/{tenant_id}/approvals/{request_id}/decision", {
          params: { path: { tenant_id: tenant.tenant_id, request_id: approval.request_id } },
          body: { decision, reason },
        }),
      ),
    onSettled: () => {
      queries.invalidateQueries({ queryKey: ["run", tenant.tenant_id, runId] });
      queries.invalidateQueries({ queryKey: ["approvals", tenant.tenant_id] });
    },
  });
  return (
    <div className="actions">
      <ReasonConfirm
        label="Approve"
        title="Approve this step"
        explain="The step runs once approved. Your reason is kept with the decision and in the audit trail."
        disabled={decide.isPending}
        onConfirm={(reason) => decide.mutate({ decision: "approve", reason })}
      />
      <ReasonConfirm
        label="Reject"
        title="Reject this step"
        explain="The step does not run. Your reason is kept with the decision and in the audit trail."
        disabled={decide.isPending}
        onConfirm={(reason) => decide.mutate({ decision: "reject", reason })}
      />
      {decide.isError && <ProblemView error={decide.error} />}
    </div>
  );
}

/** A person marks a human-only step done, saying what they did. */
function MarkDone({ step }: { step: Step }) {
  const { tenant } = useTenantScope();
  const queries = useQueryClient();
  const id = useId();
  const [note, setNote] = useState("");
  const done = useMutation({
    mutationFn: async () =>
      unwrap(
        await policy.POST("/admin/policies/tenants/{tenant_id}/runs/{run_id}/steps/{seq}/done", {
          params: { path: { tenant_id: tenant.tenant_id, run_id: step.run_id, seq: step.seq } },
          body: { status: "done", note: note.trim() },
        }),
      ),
    onSettled: () => queries.invalidateQueries({ queryKey: ["run", tenant.tenant_id, step.run_id] }),
  });
  return (
    <div className="actions">
      <Confirm
        label="Mark done"
        title="Mark this step done"
        confirmDisabled={note.trim() === ""}
        onConfirm={() => done.mutate()}
      >
        <p>The AI does not take this step: say what you did.</p>
        <div className="field">
          <label htmlFor={id}>What you did</label>
          <textarea id={id} value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} required />
        </div>
      </Confirm>
      {done.isError && <ProblemView error={done.error} />}
    </div>
  );
}

/** The approvers' inbox: the tenant's requests waiting for a decision, each
 * with what it will change and the AI's recommendation; and the notifications
 * of steps at L1 for the reader's roles; both kept current while it is open. */
export function Approvals() {
  const { tenant, can } = useTenantScope();
  const pending = useQuery({
    queryKey: ["approvals", tenant.tenant_id],
    queryFn: async () =>
      unwrap(
        await policy.GET("/admin/policies/tenants/{tenant_id}/approvals", {
          params: { path: { tenant_id: tenant.tenant_id }, query: { status: "PENDING" } },
        }),
      ),
    refetchInterval: LIVE_MS,
  });
  const notifications = useQuery({
    queryKey: ["notifications", tenant.tenant_id],
    queryFn: async () =>
      unwrap(
        await policy.GET("/admin/policies/tenants/{tenant_id}/notifications", {
          params: { path: { tenant_id: tenant.tenant_id }, query: {} },
        }),
      ),
    refetchInterval: LIVE_MS,
  });
  return (
    <section aria-labelledby="approvals">
      <h1 id="approvals">Approvals of {tenant.display_name}</h1>
      {!can("approval_request", "update") && (
        <p>Only the tenant's approvers decide; the person a run acts for never decides its requests.</p>
      )}
      {pending.isPending && <p>Loading the requests…</p>}
      {pending.isError && <ProblemView error={pending.error} />}
      {pending.data &&
        (pending.data.items.length === 0 ? (
          <p>No request is waiting.</p>
        ) : (
          <ul aria-label="Waiting for a decision" className="cards">
            {pending.data.items.map((item) => (
              <PendingItem key={item.request_id} item={item} />
            ))}
          </ul>
        ))}
      <h2>Notifications</h2>
      {notifications.isError && <ProblemView error={notifications.error} />}
      {notifications.data &&
        (notifications.data.items.length === 0 ? (
          <p>No notification.</p>
        ) : (
          <ul aria-label="Notifications">
            {notifications.data.items.map((n) => (
              <li key={n.notification_id}>
                {when(n.created_at)}: <Link to={`../runs/${n.run_id}`}>{n.title}</Link>
              </li>
            ))}
          </ul>
        ))}
    </section>
  );
}

function PendingItem({ item }: { item: ApprovalItem }) {
  const { can } = useTenantScope();
  return (
    <li aria-label={`${item.run.subject.id}: ${item.step.step_key}`}>
      <h3>
        <Link to={`../runs/${item.run_id}`}>{item.run.subject.id}</Link>: step {item.seq}, {item.step.step_key}
      </h3>
      <p>
        <code>{item.step.action_class}</code> at {item.step.gate} · {triggerOf(item.run)}
        {item.requested_by && <> · for {item.requested_by}</>} · expires {when(item.expires_at)}
      </p>
      {item.step.support && <SupportView step={item.step} />}
      {can("approval_request", "update") && <DecideApproval approval={item} runId={item.run_id} />}
    </li>
  );
}
