// Validates rendered Kubernetes manifests (`kubectl kustomize` output): every resource against
// the schema of its apiVersion and kind, from the kubernetes-models packages (built-in kinds,
// and the Strimzi, KEDA and Prometheus Operator CRDs, generated from their published schemas).
//
//   node validate-manifests.mjs rendered.yaml [more.yaml ...]
//
// A resource whose apiVersion/kind no package knows is an error, not a skip: a wrong apiVersion
// must fail. Exit status 1 on any error; each line names the file, the resource and the path.
//
// The CRD schemas, like the API server, accept unknown fields (structural schemas prune them),
// so a misspelled optional field of a Strimzi or KEDA resource is not caught here; built-in
// kinds are also checked strictly (unknown fields rejected) by kubernetes-validate (run.sh).

import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion group → the package that models it. The core group ("v1") and the built-in groups
// live in kubernetes-models.
const CRD_PACKAGES = {
  "kafka.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "core.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9]+$/.test(kind)) {
    return null;
  }
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const module = CRD_PACKAGES[group]
    ? `${CRD_PACKAGES[group]}/${group}/${version}/${kind}`
    : group === ""
      ? `kubernetes-models/${version}/${kind}`
      : `kubernetes-models/${group}/${version}/${kind}`;
  try {
    const exports = await import(module);
    return exports[kind] ?? null;
  } catch {
    return null;
  }
}

function describe(doc) {
  const name = doc?.metadata?.name ?? "(no name)";
  return `${doc?.kind ?? "(no kind)"}/${name}`;
}

let errors = 0;
let checked = 0;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate-manifests.mjs rendered.yaml [more.yaml ...]");
  process.exit(2);
}
for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const parsed of docs) {
    if (parsed.errors.length > 0) {
      console.error(`${file}: YAML error: ${parsed.errors[0].message}`);
      errors++;
      continue;
    }
    const doc = parsed.toJSON();
    if (doc === null) continue;
    // kustomize's secretGenerator wraps long base64 values over lines; the API server decodes
    // them with Go's base64, which skips line breaks, so the schema's "byte" format is checked
    // on the value without them.
    if (doc.kind === "Secret" && doc.data && typeof doc.data === "object") {
      for (const [key, value] of Object.entries(doc.data)) {
        if (typeof value === "string") doc.data[key] = value.replace(/[\r\n]/g, "");
      }
    }
    checked++;
    const Model = await modelFor(doc.apiVersion, doc.kind);
    if (!Model) {
      console.error(`${file}: ${describe(doc)}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
      errors++;
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      console.error(`${file}: ${describe(doc)} (${doc.apiVersion}): ${e.message}`);
      errors++;
    }
  }
}
console.log(`validate-manifests: ${checked} resources checked, ${errors} errors`);
process.exit(errors === 0 ? 0 : 1);
