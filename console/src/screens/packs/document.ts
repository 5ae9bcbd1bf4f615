// A pack or playbook document as an operator uploads it: a JSON file, read
// and parsed in the browser; what does not parse is one problem at the root.

export interface Issue {
  pointer: string;
  code: string;
  message: string;
}

export type Parsed =
  | { ok: true; name: string; document: Record<string, unknown> }
  | { ok: false; name: string; issues: Issue[] };

/** Parses `text`, the content of the file `name`, as one JSON object. */
export function parseDocument(name: string, text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, name, issues: [{ pointer: "", code: "not_json", message: (e as Error).message }] };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      name,
      issues: [{ pointer: "", code: "not_an_object", message: "the document is not a JSON object" }],
    };
  }
  return { ok: true, name, document: value as Record<string, unknown> };
}

/** What a document says it is: kind, id or domain, version. */
export function describe(document: Record<string, unknown>): string {
  const text = (key: string) => (typeof document[key] === "string" ? (document[key] as string) : "");
  return [text("kind"), text("id") || text("domain"), text("version")].filter(Boolean).join(" ");
}
