import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { usePermissions } from "../../access";
import { ApiFailure, packs, unwrap } from "../../api/client";
import { Badge } from "../../ui/Badge";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import type { Parsed } from "./document";
import { Issues, Upload } from "./Upload";

/** Playbooks: every published version (immutable), and publishing one from a
 * JSON file. A tenant links a version in its own context, where the console
 * says why a link does not fit its active configuration. */
export function Playbooks() {
  const { can } = usePermissions();
  const queries = useQueryClient();
  const listed = useQuery({ queryKey: ["playbooks"], queryFn: async () => unwrap(await packs.GET("/admin/playbooks")) });
  const [parsed, setParsed] = useState<Parsed | null>(null);
  const document = parsed?.ok ? parsed.document : undefined;
  const publish = useMutation({
    mutationFn: async () => {
      const answer = await packs.POST("/admin/playbooks", { body: document ?? {} });
      return { version: unwrap(answer), again: answer.response.status === 200 };
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: ["playbooks"] }),
  });
  const refused = publish.error instanceof ApiFailure ? publish.error.problem.errors : undefined;
  return (
    <section aria-labelledby="playbooks">
      <h1 id="playbooks">Playbooks</h1>
      {can("playbook", "create") && (
        <section aria-labelledby="publish-playbook" className="panel">
          <h2 id="publish-playbook">Publish a playbook version</h2>
          <Upload label="Playbook file (JSON)" onParsed={setParsed} />
          <button type="button" className="primary" disabled={!document || publish.isPending} onClick={() => publish.mutate()}>
            Publish
          </button>
          {publish.data && (
            <p role="status">
              {publish.data.again ? "Already published" : "Published"}: {publish.data.version.name}{" "}
              {publish.data.version.version}
            </p>
          )}
          {refused && parsed && <Issues issues={refused} caption={`Problems of ${parsed.name}`} />}
          {publish.isError && !refused && <ProblemView error={publish.error} />}
        </section>
      )}
      {listed.isPending && <p>Loading playbooks…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No playbook is published yet.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <table aria-label="Published playbooks">
          <thead>
            <tr>
              <th scope="col">Playbook</th>
              <th scope="col">Version</th>
              <th scope="col">Domain</th>
              <th scope="col">Published</th>
            </tr>
          </thead>
          <tbody>
            {listed.data.items.map((p) => (
              <tr key={p.playbook_version_id}>
                <td>
                  {p.name} <code>{p.playbook}</code>
                </td>
                <td>
                  {p.version} <Badge status="PUBLISHED" />
                </td>
                <td>{p.domain}</td>
                <td>
                  {when(p.published_at)} by {p.published_by}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
