// Reads a JSON array of monitoring.coreos.com/v1 objects on stdin and validates each against
// the Prometheus Operator CRD schema it belongs to (the validators @kubernetes-models
// generates from the upstream CRDs). Prints one JSON line per object; exit status 1 if any
// object is invalid or of a kind not known here.
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

const kinds = { ServiceMonitor, PrometheusRule };
let input = "";
for await (const chunk of process.stdin) input += chunk;
let failed = false;
for (const obj of JSON.parse(input)) {
  const Kind = obj.apiVersion === "monitoring.coreos.com/v1" ? kinds[obj.kind] : undefined;
  const name = obj.metadata?.name;
  if (!Kind) {
    console.log(JSON.stringify({ kind: obj.kind, name, valid: false, error: `no schema for ${obj.apiVersion} ${obj.kind}` }));
    failed = true;
    continue;
  }
  try {
    new Kind(obj).validate();
    console.log(JSON.stringify({ kind: obj.kind, name, valid: true }));
  } catch (e) {
    console.log(JSON.stringify({ kind: obj.kind, name, valid: false, error: e.message }));
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
