import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { audit, unwrap } from "../../api/client";
import { Badge } from "../../ui/Badge";
import { Pager, useCursors } from "../../ui/Pager";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import { type Check, type InclusionProof, checkEntry } from "./proof";

interface Filters {
  actor?: string;
  action?: string;
  resource_type?: string;
  outcome?: string;
  from?: string;
  to?: string;
}

/** What the console reads of an entry's record. */
interface Recorded {
  index: number;
  recorded_at: string;
  record: {
    actor: string;
    action: string;
    resource_type: string;
    resource_id?: string | null;
    outcome: string;
    reason?: string | null;
    request_id?: string | null;
    source_service: string;
    details: Record<string, string>;
  };
}

/** An audit trail — a tenant's or the platform's — with filters, pages, each
 * entry's detail with its inclusion proof checked here, verification of the
 * whole chain by the service, and its exports. */
export function AuditTrail({ log, title }: { log: string; title: string }) {
  const [filters, setFilters] = useState<Filters>({});
  const [draft, setDraft] = useState<Filters>({});
  const paging = useCursors();
  const [open, setOpen] = useState<number | null>(null);
  const cursor = paging.cursor;
  const path = { log };
  const page = useQuery({
    queryKey: ["audit", log, filters, cursor ?? ""],
    queryFn: async () =>
      unwrap(
        await audit.GET("/admin/audit/logs/{log}/entries", {
          params: { path, query: { ...filters, limit: 50, cursor } },
        }),
      ),
    // The trail grows as services act: the first page follows it.
    refetchInterval: cursor ? false : 5_000,
  });
  const verify = useMutation({
    mutationFn: async () => unwrap(await audit.POST("/admin/audit/logs/{log}/verify", { params: { path }, body: {} })),
  });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const set = Object.fromEntries(Object.entries(draft).filter(([, v]) => v)) as Filters;
    // Dates are whole days, in UTC.
    if (set.from) set.from = `${set.from}T00:00:00Z`;
    if (set.to) set.to = `${set.to}T23:59:59Z`;
    paging.reset();
    setOpen(null);
    setFilters(set);
  };
  const text = (key: keyof Filters, label: string, type = "text") => (
    <label>
      {label}{" "}
      <input type={type} value={draft[key] ?? ""} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })} />
    </label>
  );
  const base = `/admin/audit/logs/${encodeURIComponent(log)}`;
  const items = (page.data?.items ?? []) as unknown as { index: number; entry: Recorded }[];
  return (
    <section aria-labelledby="audit">
      <h1 id="audit">{title}</h1>
      <div className="actions">
        <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
          Verify the chain
        </button>
        <a href={`${base}/export`} download={`${log}.jsonl`}>
          Export JSON Lines
        </a>
        <a href={`${base}/export/oscal`} download={`${log}-oscal.json`}>
          Export OSCAL
        </a>
      </div>
      {verify.isError && <ProblemView error={verify.error} />}
      {verify.data && (
        <p role="status" className={verify.data.ok ? "verdict-ok" : "problem"}>
          {verify.data.ok
            ? `The chain holds: ${verify.data.entries} entries and ${verify.data.checkpoints} signed checkpoints check out (root ${verify.data.root_hash.slice(0, 16)}…).`
            : `The chain is broken${verify.data.first_bad_index != null ? ` at entry ${verify.data.first_bad_index}` : ""}: ${verify.data.reason}`}
        </p>
      )}
      <form onSubmit={apply} aria-label="Filter entries" className="filters">
        {text("actor", "Actor")} {text("action", "Action")} {text("resource_type", "Resource type")}{" "}
        <label>
          Outcome{" "}
          <select value={draft.outcome ?? ""} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}>
            <option value="">any</option>
            <option>ALLOWED</option>
            <option>DENIED</option>
            <option>FAILED</option>
          </select>
        </label>{" "}
        {text("from", "From", "date")} {text("to", "To", "date")}{" "}
        <button type="submit">Filter</button>
      </form>
      {page.isPending && <p>Loading entries…</p>}
      {page.isError && <ProblemView error={page.error} />}
      {page.data && items.length === 0 && <p>No entry{Object.keys(filters).length ? " matches" : " yet"}.</p>}
      {items.length > 0 && (
        <table aria-label="Entries">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Recorded</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Resource</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {items.map(({ index, entry }) => (
              <tr key={index} aria-selected={open === index}>
                <td>
                  <button type="button" className="link" onClick={() => setOpen(index)}>
                    Entry {index}
                  </button>
                </td>
                <td>{when(entry.recorded_at)}</td>
                <td>{entry.record.actor}</td>
                <td>{entry.record.action}</td>
                <td>
                  {entry.record.resource_type} {entry.record.resource_id && <code>{entry.record.resource_id}</code>}
                </td>
                <td>
                  <Badge status={entry.record.outcome} />
                  {entry.record.reason && <> {entry.record.reason}</>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager paging={paging} next={page.data?.next_cursor} />
      {open !== null && <EntryDetail log={log} index={open} />}
    </section>
  );
}

/** One entry: its record, and its inclusion in the log as of the latest signed
 * checkpoint, checked in this browser. */
function EntryDetail({ log, index }: { log: string; index: number }) {
  const proved = useQuery({
    queryKey: ["audit-entry", log, index],
    queryFn: async () => {
      const answer = unwrap(
        await audit.GET("/admin/audit/logs/{log}/entries/{index}", { params: { path: { log, index } } }),
      ) as unknown as { entry: Recorded; proof: InclusionProof; checkpoint: { size: number; root_hash: string; signed_at: string } };
      const check: Check = await checkEntry(answer.entry, answer.proof, answer.checkpoint);
      return { ...answer, check };
    },
  });
  return (
    <section aria-labelledby="entry-detail" className="panel">
      <h2 id="entry-detail">Entry {index}</h2>
      {proved.isPending && <p>Loading the entry and its proof…</p>}
      {proved.isError && <ProblemView error={proved.error} />}
      {proved.data && (
        <>
          <p role="status" className={proved.data.check.included ? "verdict-ok" : "problem"}>
            {proved.data.check.included
              ? `Checked in this browser: the entry is in the log of ${proved.data.checkpoint.size} entries signed ${when(proved.data.checkpoint.signed_at)}.`
              : `Not proved: ${proved.data.check.reason}.`}
          </p>
          <dl className="facts" aria-label="Proof">
            <dt>Leaf hash (computed here)</dt>
            <dd>
              <code>{proved.data.check.leaf}</code> {proved.data.check.leafMatches ? "matches the log" : "differs from the log"}
            </dd>
            <dt>Checkpoint root</dt>
            <dd>
              <code>{proved.data.checkpoint.root_hash}</code>
            </dd>
            <dt>Audit path</dt>
            <dd>{proved.data.proof.path.length} hashes</dd>
          </dl>
          <pre aria-label="Recorded entry">{JSON.stringify(proved.data.entry, null, 2)}</pre>
        </>
      )}
    </section>
  );
}
