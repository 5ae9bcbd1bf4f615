// Validates an AsyncAPI document with the AsyncAPI parser (Avro payloads through
// its Avro schema parser) and prints what it describes, as JSON, for the Rust test
// that holds it against the event catalog:
//   {"channels":[{"address":…,"messages":[{"name":…,"schemaFile":…,"fields":[…],"headers":[…]}]}]}
// Exit 1 with the parser's diagnostics when the document is not valid.
//   node check.mjs ../../../schemas/asyncapi.yaml
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Parser, fromFile } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const file = resolve(process.argv[2]);
const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
const { document, diagnostics } = await fromFile(parser, file).parse();
// Severity 0 is an error; warnings and hints are printed but pass.
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) {
  console.error(`${['error', 'warning', 'info', 'hint'][d.severity]}: ${d.code} ${d.message} at ${d.path.join('/')}`);
}
if (!document || errors.length > 0) {
  process.exit(1);
}

// Where each message's payload comes from, as written in the document.
const raw = readFileSync(file, 'utf8');
const refOf = {};
let current = null;
for (const line of raw.split('\n')) {
  const name = line.match(/^ {4}([a-z_.]+):$/);
  if (name) current = name[1];
  const ref = line.match(/^ {10}\$ref: '\.\/(.+\.avsc)'$/);
  if (ref && current) refOf[current] = ref[1];
}

const channels = document.channels().all().map((channel) => ({
  address: channel.address(),
  messages: channel.messages().all().map((message) => ({
    name: message.name(),
    schemaFile: refOf[message.id()] ?? null,
    // The fields of the Avro record the parser read for the payload.
    fields: Object.keys(message.payload()?.json()?.schema?.properties ?? {}),
    headers: Object.keys(message.headers()?.properties() ?? {}),
  })),
}));
console.log(JSON.stringify({ channels, warnings: diagnostics.length - errors.length }));
