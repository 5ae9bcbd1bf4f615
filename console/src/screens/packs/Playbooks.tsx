import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { usePermissions } from "../../access";
import { packs, unwrap } from "../../api/client";
import { ProblemView } from "../ProblemView";
import { PublishPanel, VersionTable } from "./Published";

/** Playbooks: every published version (immutable), and publishing one from a
 * JSON file. A tenant links a version in its own context, where the console
 * says why a link does not fit its active configuration. */
export function Playbooks() {
  const { can } = usePermissions();
  const queries = useQueryClient();
  const listed = useQuery({ queryKey: ["playbooks"], queryFn: async () => unwrap(await packs.GET("/admin/playbooks")) });
  const publish = useMutation({
    mutationFn: async (document: Record<string, unknown>) => {
      const answer = await packs.POST("/admin/playbooks", { body: document });
      return { version: unwrap(answer), again: answer.response.status === 200 };
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: ["playbooks"] }),
  });
  return (
    <section aria-labelledby="playbooks">
      <h1 id="playbooks">Playbooks</h1>
      {can("playbook", "create") && (
        <PublishPanel title="Publish a playbook version" fileLabel="Playbook file (JSON)" publish={publish} />
      )}
      {listed.isPending && <p>Loading playbooks…</p>}
      {listed.isError && <ProblemView error={listed.error} />}
      {listed.data && listed.data.items.length === 0 && <p>No playbook is published yet.</p>}
      {listed.data && listed.data.items.length > 0 && (
        <VersionTable
          label="Published playbooks"
          what="Playbook"
          versions={listed.data.items.map((p) => ({ ...p, id: p.playbook_version_id, of: p.playbook }))}
        />
      )}
    </section>
  );
}
