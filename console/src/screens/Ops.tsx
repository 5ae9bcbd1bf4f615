import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { packs, unwrap } from "../api/client";
import { Badge } from "../ui/Badge";
import { when } from "../ui/when";
import { ProblemView } from "./ProblemView";
import { useTenantScope } from "./TenantContext";

/** A sample ticket an operator can start from: a Finance invoice dispute. */
const SAMPLE = JSON.stringify(
  { subject: "Invoice 4471 is disputed", amount: 1250, vendor: "Initech", channel: "portal" },
  null,
  2,
);

/** Ops: the tenant's live behaviour. A ticket is classified with the
 * configuration the tenant runs now — category, priority, queue, the rule
 * that fired and where it came from, and the configuration's version — so an
 * activation shows at once, with no reload of any service. */
export function Ops() {
  const { tenant, can } = useTenantScope();
  const queries = useQueryClient();
  const path = { tenant_id: tenant.tenant_id };
  const [ticket, setTicket] = useState(SAMPLE);
  const [notJson, setNotJson] = useState<string | null>(null);
  const classify = useMutation({
    mutationFn: async (fields: Record<string, unknown>) =>
      unwrap(await packs.POST("/runtime/tenants/{tenant_id}/classify", { params: { path }, body: { ticket: { fields } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["classifications", tenant.tenant_id] }),
  });
  const recent = useQuery({
    queryKey: ["classifications", tenant.tenant_id],
    queryFn: async () =>
      unwrap(await packs.GET("/runtime/tenants/{tenant_id}/classifications", { params: { path } })),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let fields: unknown;
    try {
      fields = JSON.parse(ticket);
    } catch (error) {
      setNotJson((error as Error).message);
      return;
    }
    if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
      setNotJson("the ticket's fields are a JSON object");
      return;
    }
    setNotJson(null);
    classify.mutate(fields as Record<string, unknown>);
  };
  const result = classify.data;
  return (
    <section aria-labelledby="ops">
      <h1 id="ops">Ops: live behaviour of {tenant.display_name}</h1>
      {can("classification", "create") && (
        <form onSubmit={submit} aria-label="Classify a ticket">
          <div className="field">
            <label htmlFor="ticket-fields">Ticket fields (JSON)</label>
            <textarea
              id="ticket-fields"
              rows={8}
              cols={60}
              value={ticket}
              aria-invalid={notJson ? true : undefined}
              onChange={(e) => setTicket(e.target.value)}
            />
            {notJson && (
              <span className="inline-problem" role="alert">
                {notJson}
              </span>
            )}
          </div>
          <button type="submit" className="primary" disabled={classify.isPending}>
            Classify
          </button>
        </form>
      )}
      {classify.isError && <ProblemView error={classify.error} />}
      {result && (
        <dl className="facts" aria-label="Classification">
          <dt>Category</dt>
          <dd>{result.category}</dd>
          <dt>Priority</dt>
          <dd>{result.priority}</dd>
          <dt>Queue</dt>
          <dd>{result.queue}</dd>
          <dt>Rule</dt>
          <dd>
            {result.rule.id ?? "the default"} (from the {result.rule.source})
          </dd>
          <dt>Configuration</dt>
          <dd>
            {result.config.domain} {result.config.domain_pack_version}
            {result.config.tenant_pack_version && ` + ${result.config.tenant_pack_version}`}{" "}
            <Badge status="ACTIVE" /> <code>{result.config.checksum.slice(0, 12)}</code>
          </dd>
        </dl>
      )}
      <h2>Recent classifications</h2>
      {recent.isPending && <p>Loading classifications…</p>}
      {recent.isError && <ProblemView error={recent.error} />}
      {recent.data && recent.data.items.length === 0 && <p>No ticket classified yet.</p>}
      {recent.data && recent.data.items.length > 0 && (
        <table aria-label="Recent classifications">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Category</th>
              <th scope="col">Priority</th>
              <th scope="col">Queue</th>
              <th scope="col">Rule</th>
              <th scope="col">Configuration</th>
            </tr>
          </thead>
          <tbody>
            {recent.data.items.map((c) => (
              <tr key={c.classification_id}>
                <td>{when(c.classified_at)}</td>
                <td>{c.category}</td>
                <td>{c.priority}</td>
                <td>{c.queue}</td>
                <td>
                  {c.rule_id ?? "default"} ({c.rule_source})
                </td>
                <td>
                  <code>{c.config_checksum.slice(0, 12)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
