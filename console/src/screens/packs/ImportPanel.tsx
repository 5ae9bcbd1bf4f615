import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { ApiFailure } from "../../api/client";
import type { components } from "../../api/generated/pack-service";
import { Badge } from "../../ui/Badge";
import { ProblemView } from "../ProblemView";
import type { Parsed } from "./document";
import { Issues, Upload } from "./Upload";

type Issue = components["schemas"]["Issue"];
type Report = components["schemas"]["Report"];

/** A version as an import answers it. */
export interface Imported {
  domain: string;
  version: string;
  status: string;
  /** The same version with the same content was imported before. */
  again: boolean;
}

/** What validating or importing a document found. */
type Outcome =
  | { kind: "valid" }
  | { kind: "invalid"; issues: Issue[] }
  | { kind: "imported"; imported: Imported };

/** The problems of a refused import, each at its pointer; or nothing. */
function refusedIssues(error: unknown): Issue[] | undefined {
  return error instanceof ApiFailure ? (error.problem.errors ?? undefined) : undefined;
}

/** Choosing a pack's JSON file, validating it (every problem at its JSON
 * pointer) and importing it as a new, immutable version. */
export function ImportPanel({
  label,
  validate,
  importPack,
}: {
  label: string;
  validate: (document: Record<string, unknown>) => Promise<Report>;
  importPack: (document: Record<string, unknown>) => Promise<Imported>;
}) {
  const [parsed, setParsed] = useState<Parsed | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const document = parsed?.ok ? parsed.document : undefined;
  const validation = useMutation({
    mutationFn: validate,
    onSuccess: (report) => setOutcome(report.valid ? { kind: "valid" } : { kind: "invalid", issues: report.errors }),
  });
  const importing = useMutation({
    mutationFn: importPack,
    onSuccess: (imported) => setOutcome({ kind: "imported", imported }),
    onError: (error) => {
      const issues = refusedIssues(error);
      setOutcome(issues ? { kind: "invalid", issues } : null);
    },
  });
  const name = parsed?.name ?? "";
  return (
    <div className="panel">
      <Upload
        label={label}
        onParsed={(p) => {
          setParsed(p);
          setOutcome(null);
        }}
      />
      <div className="actions">
        <button
          type="button"
          disabled={!document || validation.isPending}
          onClick={() => document && validation.mutate(document)}
        >
          Validate
        </button>
        <button
          type="button"
          className="primary"
          disabled={!document || importing.isPending}
          onClick={() => document && importing.mutate(document)}
        >
          Import
        </button>
      </div>
      {outcome?.kind === "valid" && <p role="status">{name} is valid: no problem found.</p>}
      {outcome?.kind === "invalid" && <Issues issues={outcome.issues} caption={`Problems of ${name}`} />}
      {outcome?.kind === "imported" && (
        <p role="status">
          {outcome.imported.again ? "Already imported" : "Imported"}: {outcome.imported.domain}{" "}
          {outcome.imported.version} <Badge status={outcome.imported.status} />
        </p>
      )}
      {validation.isError && <ProblemView error={validation.error} />}
      {importing.isError && !refusedIssues(importing.error) && <ProblemView error={importing.error} />}
    </div>
  );
}
