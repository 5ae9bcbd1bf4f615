import type { UseMutationResult } from "@tanstack/react-query";
import { useState } from "react";
import { ApiFailure } from "../../api/client";
import { Badge } from "../../ui/Badge";
import { when } from "../../ui/when";
import { ProblemView } from "../ProblemView";
import type { Parsed } from "./document";
import { Issues, Upload } from "./Upload";

/** A published version of a playbook or a workflow, as the tables show it. */
export type PublishedVersion = {
  id: string;
  /** The playbook's or the workflow's id. */
  of: string;
  name: string;
  version: string;
  domain: string;
  published_at: string;
  published_by: string;
};

/** Published versions, each immutable: what, which version, its domain, and
 * who published it when. */
export function VersionTable({ label, what, versions }: { label: string; what: string; versions: PublishedVersion[] }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th scope="col">{what}</th>
          <th scope="col">Version</th>
          <th scope="col">Domain</th>
          <th scope="col">Published</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={v.id}>
            <td>
              {v.name} <code>{v.of}</code>
            </td>
            <td>
              {v.version} <Badge status="PUBLISHED" />
            </td>
            <td>{v.domain}</td>
            <td>
              {when(v.published_at)} by {v.published_by}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What publishing answers: the version, and whether it was published before. */
export type Published = { version: { name: string; version: string }; again: boolean };

/** Publishing a version from a JSON file: `publish` sends the parsed document;
 * a refusal's problems show at their places. */
export function PublishPanel({
  title,
  fileLabel,
  publish,
}: {
  title: string;
  fileLabel: string;
  publish: UseMutationResult<Published, Error, Record<string, unknown>>;
}) {
  const [parsed, setParsed] = useState<Parsed | null>(null);
  const document = parsed?.ok ? parsed.document : undefined;
  const refused = publish.error instanceof ApiFailure ? publish.error.problem.errors : undefined;
  const id = title.toLowerCase().replaceAll(" ", "-");
  return (
    <section aria-labelledby={id} className="panel">
      <h2 id={id}>{title}</h2>
      <Upload label={fileLabel} onParsed={setParsed} />
      <button
        type="button"
        className="primary"
        disabled={!document || publish.isPending}
        onClick={() => document && publish.mutate(document)}
      >
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
  );
}
