// Validates ServiceMonitors against the prometheus-operator CRD's OpenAPI schema, as compiled by
// @kubernetes-models/prometheus-operator (pinned with its integrity in package-lock.json):
// kubernetes-validate knows no custom resources. Reads a JSON list of objects on stdin; prints
// each object's problems and exits 1 if any, 2 if it was given nothing to check.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
// The package exports its models, not its schemas: the validator is imported by its file.
const schemas = join(here, "node_modules/@kubernetes-models/prometheus-operator/_schemas");
const { validate } = await import(join(schemas, "ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1ServiceMonitor.js"));

const objects = JSON.parse(readFileSync(0, "utf8"));
if (objects.length === 0) {
  console.error("servicemonitors: no ServiceMonitor to check");
  process.exit(2);
}
let failed = 0;
for (const object of objects) {
  if (!validate(object)) {
    failed++;
    for (const e of validate.errors) {
      console.error(`${object.metadata?.namespace}/${object.metadata?.name}: ${e.instancePath || "/"} ${e.keyword} ${JSON.stringify(e.params)}`);
    }
  }
}
console.log(`servicemonitors: ${objects.length - failed} of ${objects.length} valid against the prometheus-operator CRD schema`);
process.exit(failed ? 1 : 0);
