import { useId, useState } from "react";
import { type Issue, type Parsed, describe, parseDocument } from "./document";

/** Choosing a JSON file: what it is, or why it is not a document. */
export function Upload({ label, onParsed }: { label: string; onParsed: (parsed: Parsed | null) => void }) {
  const id = useId();
  const [parsed, setParsed] = useState<Parsed | null>(null);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="file"
        accept="application/json,.json"
        onChange={async (e) => {
          const file = e.target.files?.[0];
          const next = file ? parseDocument(file.name, await file.text()) : null;
          setParsed(next);
          onParsed(next);
        }}
      />
      {parsed?.ok && (
        <span>
          {" "}
          {parsed.name}: <strong>{describe(parsed.document)}</strong>
        </span>
      )}
      {parsed && !parsed.ok && <Issues issues={parsed.issues} caption={`${parsed.name} is not a document`} />}
    </div>
  );
}

/** Every problem of a document at its JSON pointer. */
export function Issues({ issues, caption }: { issues: Issue[]; caption: string }) {
  return (
    <table className="issues" aria-label={caption}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Where</th>
          <th scope="col">Code</th>
          <th scope="col">Problem</th>
        </tr>
      </thead>
      <tbody>
        {issues.map((issue, i) => (
          <tr key={`${issue.pointer}-${issue.code}-${i}`}>
            <td>
              <code>{issue.pointer || "/"}</code>
            </td>
            <td>
              <code>{issue.code}</code>
            </td>
            <td>{issue.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
