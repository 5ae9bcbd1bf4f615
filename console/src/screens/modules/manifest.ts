// A module release's manifest as the import screen edits it: checked live
// against the same JSON Schema the module catalog reviews it with
// (schemas/json/module-manifest.schema.json, compiled to a validator by
// `npm run generate`: the console runs no code made at run time), and the guided fields that
// generate it — each field sets its part of the manifest and leaves the rest
// (policy expectations, the config schema) as the advanced editor left it.
import type { ErrorObject } from "ajv";
import validator from "../../api/generated/module-manifest-validator";
import { commaList } from "../../ui/list";
import type { Issue } from "../packs/document";

/** A schema finding as a problem: at its pointer, the schema keyword as its code. */
function problemOf(e: ErrorObject): Issue {
  const params = e.params as Record<string, unknown>;
  const code = e.keyword;
  if (e.keyword === "required") {
    return { pointer: `${e.instancePath}/${String(params.missingProperty)}`, code, message: "is required" };
  }
  if (e.keyword === "additionalProperties") {
    return {
      pointer: `${e.instancePath}/${String(params.additionalProperty)}`,
      code,
      message: "is not a field of the manifest",
    };
  }
  if (e.keyword === "enum") {
    const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ");
    return { pointer: e.instancePath || "/", code, message: `must be one of ${allowed}` };
  }
  return { pointer: e.instancePath || "/", code, message: e.message ?? e.keyword };
}

/** The manifest's text checked: the parsed manifest, and every problem (none:
 * the schema admits it; the catalog's review checks the rest). */
export function checkManifest(text: string): { manifest?: Record<string, unknown>; problems: Issue[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { problems: [{ pointer: "/", code: "not_json", message: `not JSON: ${(e as Error).message}` }] };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { problems: [{ pointer: "/", code: "not_an_object", message: "a manifest is a JSON object" }] };
  }
  const manifest = parsed as Record<string, unknown>;
  if (validator(manifest)) return { manifest, problems: [] };
  const seen = new Set<string>();
  const problems = (validator.errors ?? []).map(problemOf).filter((p) => {
    const key = `${p.pointer} ${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { manifest, problems };
}

/** What the guided form shows: each a text the person types. Lists are one
 * item per line (tools: `id action_class description`; cleanup steps: `id
 * kind description`) or comma-separated (connectors, AI providers). */
export interface GuidedFields {
  id: string;
  name: string;
  version: string;
  description: string;
  repository: string;
  commit: string;
  image: string;
  runtimeKind: string;
  minPlatformVersion: string;
  cpuMillicores: string;
  memoryMib: string;
  tools: string;
  connectors: string;
  aiProviders: string;
  dataMode: string;
  cleanup: string;
}

/** A release to start from: the fields a person must fill in are empty. */
export const BLANK_MANIFEST = {
  kind: "ModuleRelease",
  id: "",
  version: "1.0.0",
  name: "",
  source: { repository: "", commit: "" },
  image: "",
  runtime: { kind: "container", min_platform_version: "1.0.0", resources: { cpu_millicores: 250, memory_mib: 512 } },
  tools: [],
  requires: { connectors: [], ai_providers: [] },
  data_mode: "metadata_only",
  cleanup: [],
};

type Json = Record<string, unknown>;
const object = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const text = (v: unknown): string => (typeof v === "string" || typeof v === "number" ? String(v) : "");
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The guided fields of a manifest. */
export function fieldsOf(manifest: Json): GuidedFields {
  const source = object(manifest.source);
  const runtime = object(manifest.runtime);
  const resources = object(runtime.resources);
  const requires = object(manifest.requires);
  const line = (v: unknown, keys: string[]) =>
    keys
      .map((k) => text(object(v)[k]))
      .join(" ")
      .trim();
  return {
    id: text(manifest.id),
    name: text(manifest.name),
    version: text(manifest.version),
    description: text(manifest.description),
    repository: text(source.repository),
    commit: text(source.commit),
    image: text(manifest.image),
    runtimeKind: text(runtime.kind),
    minPlatformVersion: text(runtime.min_platform_version),
    cpuMillicores: text(resources.cpu_millicores),
    memoryMib: text(resources.memory_mib),
    tools: list(manifest.tools)
      .map((t) => line(t, ["id", "action_class", "description"]))
      .join("\n"),
    connectors: list(requires.connectors).map(text).join(", "),
    aiProviders: list(requires.ai_providers).map(text).join(", "),
    dataMode: text(manifest.data_mode),
    cleanup: list(manifest.cleanup)
      .map((s) => line(s, ["id", "kind", "description"]))
      .join("\n"),
  };
}

/** Lines of `first second rest…` as records of those three keys (a tool's or
 * a cleanup step's description may be left out). */
function lines(v: string, [a, b, c]: [string, string, string]): Json[] {
  return v
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [first = "", second = "", ...rest] = l.split(/\s+/);
      const record: Json = { [a]: first, [b]: second };
      if (rest.length) record[c] = rest.join(" ");
      return record;
    });
}

/** A number where the text is one, the text otherwise (so the schema says
 * what is wrong with it). */
const numeric = (v: string): number | string => (/^\d+$/.test(v.trim()) ? Number(v.trim()) : v);

/** `manifest` with the guided fields' parts set from `fields`; everything else
 * it holds is kept. An empty description is left out. */
export function applyFields(manifest: Json, fields: GuidedFields): Json {
  const runtime = object(manifest.runtime);
  const next: Json = {
    ...manifest,
    kind: "ModuleRelease",
    id: fields.id.trim(),
    version: fields.version.trim(),
    name: fields.name,
    source: { ...object(manifest.source), repository: fields.repository.trim(), commit: fields.commit.trim() },
    image: fields.image.trim(),
    runtime: {
      ...runtime,
      kind: fields.runtimeKind,
      min_platform_version: fields.minPlatformVersion.trim(),
      resources: {
        ...object(runtime.resources),
        cpu_millicores: numeric(fields.cpuMillicores),
        memory_mib: numeric(fields.memoryMib),
      },
    },
    tools: lines(fields.tools, ["id", "action_class", "description"]),
    requires: {
      ...object(manifest.requires),
      connectors: commaList(fields.connectors),
      ai_providers: commaList(fields.aiProviders),
    },
    data_mode: fields.dataMode,
    cleanup: lines(fields.cleanup, ["id", "kind", "description"]),
  };
  if (fields.description.trim()) next.description = fields.description;
  else delete next.description;
  return next;
}
