// Validates an AsyncAPI document with the official parser (@asyncapi/parser).
// Usage: NODE_PATH=<node_modules from scripts/asyncapi_parser.sh> node tools/asyncapi_validate.mjs FILE
// Prints the diagnostics as JSON lines; exits 1 when any is an error (severity 0).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH, "noop.js"));
const { Parser } = require("@asyncapi/parser");

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"), {
  source: path.resolve(file),
});
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
const errors = diagnostics.filter((d) => d.severity === 0);
if (!document || errors.length) {
  console.error(`${errors.length} error(s)`);
  process.exit(1);
}
console.log(JSON.stringify({ ok: true, channels: document.channels().length, messages: document.allMessages().length }));
