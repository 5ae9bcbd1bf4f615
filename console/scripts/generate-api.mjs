// Generates the console's API types from the checked-in OpenAPI documents
// (schemas/openapi/*.json) into src/api/generated/: an API change that breaks a
// screen breaks `tsc`.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import openapiTS, { astToString } from "openapi-typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const documents = path.resolve(here, "../../schemas/openapi");
const out = path.resolve(here, "../src/api/generated");
await mkdir(out, { recursive: true });
for (const file of (await readdir(documents)).filter((f) => f.endsWith(".json")).sort()) {
  const document = JSON.parse(await readFile(path.join(documents, file), "utf8"));
  // A document the API takes whole (a pack, a playbook) is any JSON object.
  const ast = await openapiTS(document, { emptyObjectsUnknown: true });
  const name = file.replace(/\.json$/, "");
  await writeFile(
    path.join(out, `${name}.ts`),
    `// Generated from schemas/openapi/${file} by scripts/generate-api.mjs; do not edit.\n${astToString(ast)}`,
  );
}
