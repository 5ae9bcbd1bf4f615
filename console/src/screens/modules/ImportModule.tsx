import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link } from "react-router";
import { ApiFailure, modules, unwrap } from "../../api/client";
import type { components } from "../../api/generated/module-catalog";
import type { Issue } from "../packs/document";
import { Issues } from "../packs/Upload";
import { ProblemView } from "../ProblemView";
import { ModuleTabs, ReviewChecks } from "./Catalog";
import { applyFields, BLANK_MANIFEST, checkManifest, fieldsOf, type GuidedFields } from "./manifest";

type Envelope = components["schemas"]["Envelope"];

/** What the file input read: a DSSE envelope, or why it is not one. */
type EnvelopeFile = { name: string; envelope?: Envelope; problem?: string };

function readEnvelope(name: string, text: string): EnvelopeFile {
  try {
    const parsed = JSON.parse(text) as Partial<Envelope>;
    if (typeof parsed.payload === "string" && typeof parsed.payloadType === "string" && Array.isArray(parsed.signatures)) {
      return { name, envelope: parsed as Envelope };
    }
    return { name, problem: "not a DSSE envelope: it needs payloadType, payload and signatures" };
  } catch (e) {
    return { name, problem: `not JSON: ${(e as Error).message}` };
  }
}

async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Import module package: a signed release (the DSSE envelope the release
 * pipeline made), or a manifest composed here — with guided fields that
 * generate the release JSON, or edited directly in the advanced editor, checked
 * live against the manifest's schema. A composed manifest is unsigned: its
 * review shows the signature check failed until the release pipeline signs it.
 * The image artifact, when at hand, is hashed against the manifest's digest. */
export function ImportModule() {
  const queries = useQueryClient();
  const ids = { mode: useId(), envelope: useId(), artifact: useId() };
  const [mode, setMode] = useState<"signed" | "compose">("signed");
  const [envelope, setEnvelope] = useState<EnvelopeFile | null>(null);
  const [text, setText] = useState(JSON.stringify(BLANK_MANIFEST, null, 2));
  const [artifact, setArtifact] = useState<File | null>(null);
  const checked = checkManifest(text);
  const ready = mode === "signed" ? Boolean(envelope?.envelope) : checked.problems.length === 0;
  const importRelease = useMutation({
    mutationFn: async () => {
      const artifact_base64 = artifact ? await base64Of(artifact) : null;
      const body =
        mode === "signed"
          ? { envelope: envelope?.envelope ?? null, artifact_base64 }
          : { manifest: checked.manifest ?? null, artifact_base64 };
      const answer = await modules.POST("/admin/modules/import", { body });
      return { release: unwrap(answer), again: answer.response.status === 200 };
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: ["modules"] }),
  });
  const refused = importRelease.error instanceof ApiFailure ? importRelease.error.problem.errors : undefined;
  const imported = importRelease.data?.release;
  return (
    <section aria-labelledby="import-module">
      <h1 id="import-module">Import module package</h1>
      <ModuleTabs />
      <fieldset>
        <legend>What to import</legend>
        <label>
          <input type="radio" name={ids.mode} checked={mode === "signed"} onChange={() => setMode("signed")} /> A
          signed release (DSSE envelope file)
        </label>{" "}
        <label>
          <input type="radio" name={ids.mode} checked={mode === "compose"} onChange={() => setMode("compose")} />{" "}
          Compose a manifest
        </label>
      </fieldset>
      {mode === "signed" ? (
        <div className="field">
          <label htmlFor={ids.envelope}>Signed release (JSON)</label>
          <input
            id={ids.envelope}
            type="file"
            accept="application/json,.json"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              setEnvelope(file ? readEnvelope(file.name, await file.text()) : null);
            }}
          />
          {envelope?.envelope && (
            <span>
              {" "}
              {envelope.name}: <strong>{envelope.envelope.signatures.length} signature(s)</strong> over{" "}
              <code>{envelope.envelope.payloadType}</code>
            </span>
          )}
          {envelope?.problem && (
            <p className="inline-problem" role="alert">
              {envelope.name}: {envelope.problem}
            </p>
          )}
        </div>
      ) : (
        <ComposeManifest text={text} onText={setText} problems={checked.problems} manifest={checked.manifest} />
      )}
      <div className="field">
        <label htmlFor={ids.artifact}>Image artifact (optional)</label>
        <input id={ids.artifact} type="file" onChange={(e) => setArtifact(e.target.files?.[0] ?? null)} />
      </div>
      <button
        type="button"
        className="primary"
        disabled={!ready || importRelease.isPending}
        onClick={() => importRelease.mutate()}
      >
        Import release
      </button>
      {imported && (
        <section aria-labelledby="imported">
          <h2 id="imported" role="status">
            {importRelease.data?.again ? "Already imported" : "Imported"}: {imported.module_id} {imported.version}
          </h2>
          {imported.review && (
            <ReviewChecks
              checks={imported.review.checks}
              caption={`Trust review ${imported.review.passed ? "passed" : "failed"}`}
            />
          )}
          <p>
            <Link to={`/modules/${imported.module_id}/${imported.version}`}>Open the release to decide on it</Link>
          </p>
        </section>
      )}
      {refused && <Issues issues={refused} caption="Problems of the manifest" />}
      {importRelease.isError && !refused && <ProblemView error={importRelease.error} />}
    </section>
  );
}

/** The manifest being composed: guided fields or the advanced editor, one
 * manifest behind both. */
function ComposeManifest({
  text,
  onText,
  problems,
  manifest,
}: {
  text: string;
  onText: (text: string) => void;
  problems: Issue[];
  manifest?: Record<string, unknown>;
}) {
  const [view, setView] = useState<"guided" | "advanced">("guided");
  const [fields, setFields] = useState<GuidedFields>(() => fieldsOf(manifest ?? BLANK_MANIFEST));
  const editorId = useId();
  const showGuided = () => {
    if (!manifest) return;
    setFields(fieldsOf(manifest));
    setView("guided");
  };
  const change = (next: GuidedFields) => {
    setFields(next);
    onText(JSON.stringify(applyFields(manifest ?? BLANK_MANIFEST, next), null, 2));
  };
  return (
    <>
      <nav aria-label="Manifest editor" className="subnav">
        <button type="button" aria-pressed={view === "guided"} disabled={!manifest} onClick={showGuided}>
          Guided fields
        </button>
        <button type="button" aria-pressed={view === "advanced"} onClick={() => setView("advanced")}>
          Advanced editor
        </button>
      </nav>
      {view === "guided" ? (
        <GuidedForm fields={fields} onChange={change} />
      ) : (
        <div className="field">
          <label htmlFor={editorId}>Manifest (JSON)</label>
          <textarea
            id={editorId}
            className="manifest"
            spellCheck={false}
            value={text}
            onChange={(e) => onText(e.target.value)}
          />
        </div>
      )}
      {problems.length === 0 ? (
        <p role="status">The manifest matches its schema.</p>
      ) : (
        <Issues issues={problems} caption="Manifest problems" />
      )}
      {view === "guided" && (
        <details>
          <summary>The release JSON these fields generate</summary>
          <pre>{text}</pre>
        </details>
      )}
    </>
  );
}

const GUIDED: { key: keyof GuidedFields; label: string; multiline?: boolean; choices?: string[] }[] = [
  { key: "id", label: "Module id" },
  { key: "name", label: "Name" },
  { key: "version", label: "Version" },
  { key: "description", label: "Description", multiline: true },
  { key: "repository", label: "Source repository (https URL)" },
  { key: "commit", label: "Source commit" },
  { key: "image", label: "Image (registry/repository@sha256:…)" },
  { key: "runtimeKind", label: "Runtime", choices: ["container", "wasm"] },
  { key: "minPlatformVersion", label: "Minimum platform version" },
  { key: "cpuMillicores", label: "CPU (millicores)" },
  { key: "memoryMib", label: "Memory (MiB)" },
  { key: "tools", label: "Tools, one per line: id action_class description", multiline: true },
  { key: "connectors", label: "Connectors it needs (comma-separated)" },
  { key: "aiProviders", label: "AI provider kinds it needs (comma-separated: openai, azure_openai, anthropic)" },
  { key: "dataMode", label: "Data mode", choices: ["metadata_only", "content"] },
  { key: "cleanup", label: "Cleanup steps, one per line: id kind description", multiline: true },
];

function GuidedForm({ fields, onChange }: { fields: GuidedFields; onChange: (next: GuidedFields) => void }) {
  const base = useId();
  return (
    <div className="guided">
      {GUIDED.map(({ key, label, multiline, choices }) => {
        const id = `${base}-${key}`;
        const set = (value: string) => onChange({ ...fields, [key]: value });
        return (
          <div className="field" key={key}>
            <label htmlFor={id}>{label}</label>
            {choices ? (
              <select id={id} value={fields[key]} onChange={(e) => set(e.target.value)}>
                {choices.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            ) : multiline ? (
              <textarea id={id} rows={3} value={fields[key]} onChange={(e) => set(e.target.value)} />
            ) : (
              <input id={id} value={fields[key]} onChange={(e) => set(e.target.value)} />
            )}
          </div>
        );
      })}
    </div>
  );
}
