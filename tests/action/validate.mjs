// Validates GitHub action metadata and workflows against GitHub's JSON schemas, offline
// (@action-validator/core carries the schemas in its WebAssembly module).
//
//   node validate.mjs action.yml           the file is action metadata
//   node validate.mjs README.md            every ```yaml block in it that has `jobs:` is a workflow
//
// Prints one line per file or block, "ok NAME" or "invalid NAME" with the errors as JSON;
// exits 1 when anything is invalid, 2 when a file cannot be read.
import { readFileSync } from "node:fs";
import { validateAction, validateWorkflow } from "@action-validator/core";

function documents(path) {
  const text = readFileSync(path, "utf8");
  if (!path.endsWith(".md")) return [{ name: path, kind: "action", text }];
  const blocks = [];
  const fence = /^```ya?ml\n([\s\S]*?)^```/gm;
  for (let m; (m = fence.exec(text)); ) {
    const line = text.slice(0, m.index).split("\n").length;
    if (/^jobs:/m.test(m[1])) blocks.push({ name: `${path}:${line}`, kind: "workflow", text: m[1] });
  }
  return blocks;
}

let invalid = 0;
for (const path of process.argv.slice(2)) {
  let docs;
  try {
    docs = documents(path);
  } catch (e) {
    console.error(`cannot read ${path}: ${e.message}`);
    process.exit(2);
  }
  for (const doc of docs) {
    const state = doc.kind === "action" ? validateAction(doc.text) : validateWorkflow(doc.text);
    if (state.errors.length) {
      invalid++;
      console.log(`invalid ${doc.kind} ${doc.name}: ${JSON.stringify(state.errors)}`);
    } else {
      console.log(`ok ${doc.kind} ${doc.name}`);
    }
  }
}
process.exit(invalid ? 1 : 0);
