// Compiles the JSON Schemas the console checks documents against as they are
// typed (schemas/json/module-manifest.schema.json) into plain validator modules
// in src/api/generated/: the console's content security policy allows no
// code made at run time, so nothing is compiled in the browser.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import standaloneCode from "ajv/dist/standalone/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const schemas = path.resolve(here, "../../schemas/json");
const out = path.resolve(here, "../src/api/generated");
await mkdir(out, { recursive: true });

/** Ajv's standalone code is an ES module that still `require`s two of Ajv's
 * run-time helpers: deep equality (`fast-deep-equal`, imported instead) and a
 * string's length in code points, which is what JSON Schema counts. */
function esm(code) {
  const module = code
    .replace('require("ajv/dist/runtime/equal").default', "__equal")
    .replace('require("ajv/dist/runtime/ucs2length").default', "__ucs2length")
    .replace('"use strict";', "");
  const left = module.match(/require\([^)]*\)/);
  if (left) throw new Error(`the validator needs ${left[0]}: import it in scripts/generate-validators.mjs`);
  return (
    'import __equal from "fast-deep-equal";\n' +
    "const __ucs2length = (s) => [...s].length;\n" +
    module
  );
}

for (const name of ["module-manifest"]) {
  const schema = JSON.parse(await readFile(path.join(schemas, `${name}.schema.json`), "utf8"));
  const ajv = new Ajv2020({ allErrors: true, strict: false, code: { source: true, esm: true } });
  const code = esm(standaloneCode(ajv, ajv.compile(schema)));
  const header = `// Generated from schemas/json/${name}.schema.json by scripts/generate-validators.mjs; do not edit.\n`;
  await writeFile(path.join(out, `${name}-validator.js`), header + code);
  await writeFile(
    path.join(out, `${name}-validator.d.ts`),
    `${header}import type { ErrorObject } from "ajv";\n` +
      "declare const validate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };\n" +
      "export default validate;\n",
  );
}
