// Evaluates a Flux Kustomization's healthCheckExprs entry on Kubernetes objects with Flux's
// rules (fluxcd/pkg runtime/cel: NewStatusEvaluator, Evaluate; RFC 0009), with no Flux here:
//
//   - the expressions are parsed once, not type-checked (Flux declares no variables, since not
//     every CRD has the five usual top-level fields): a parse error, or a missing `current`,
//     fails the whole health check before any object is looked at;
//   - CEL with optional syntax (`.?field`, `orValue`), as Flux enables cel.OptionalTypes(), and
//     homogeneous aggregate literals;
//   - only the object's top-level fields are variables (`metadata`, `spec`, `status`, ...): an
//     object without status has no `status` variable, and an expression that reads it fails
//     to evaluate (cel-go: "no such attribute(s)"), unless `||`/`&&` absorb the error;
//   - first, when status.observedGeneration exists (an int64, else an error) and
//     metadata.generation exists and differs: InProgress, no expression evaluated;
//   - then inProgress, failed, current, in that order, each only if given: the first one true
//     wins; none true: InProgress;
//   - an evaluation error, or a result that is not a bool, ends the evaluation with that error:
//     Flux's status reader reports the object as Unknown with the error (never Current), and the
//     Kustomization's health check fails with it unless a later poll succeeds.
//
// Numbers: JSON integers become CEL ints (BigInt), as the Kubernetes libraries decode them into
// int64; other numbers doubles.
//
// Input (stdin): JSON {"exprs": {"inProgress": "...", "failed": "...", "current": "..."},
// "objects": [<object>, ...]}.
// Output (stdout): JSON [{"status": "InProgress|Failed|Current|Unknown", "error": "..."}, ...];
// a setup error: on stderr, exit status 1.
import { Environment } from "@marcbachmann/cel-js";

const env = new Environment({
  enableOptionalTypes: true,
  unlistedVariablesAreDyn: true,
  homogeneousAggregateLiterals: true,
});

function readStdin() {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (c) => (text += c));
    process.stdin.on("end", () => resolve(text));
    process.stdin.on("error", reject);
  });
}

function unstructured(v) {
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(unstructured);
  if (v !== null && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = unstructured(x);
    return out;
  }
  return v;
}

/// unstructured.NestedInt64: [value, found]; a value that is not an int64 is an error.
function nestedInt64(obj, ...path) {
  let v = obj;
  for (const p of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !(p in v)) return [0n, false];
    v = v[p];
  }
  if (typeof v !== "bigint") {
    throw new Error(`.${path.join(".")} accessor error: ${v} is of the type ${typeof v}, expected int64`);
  }
  return [v, true];
}

function compile(name, text) {
  try {
    const program = env.parse(text);
    return { name, text, program };
  } catch (e) {
    throw new Error(`failed to parse the expression ${name}: ${e.message}`);
  }
}

function evaluate(checks, raw) {
  const obj = unstructured(raw);
  try {
    const [observed, hasObserved] = nestedInt64(obj, "status", "observedGeneration");
    if (hasObserved) {
      const [generation, hasGeneration] = nestedInt64(obj, "metadata", "generation");
      if (hasGeneration && observed !== generation) return { status: "InProgress" };
    }
  } catch (e) {
    return { status: "Unknown", error: e.message };
  }
  for (const c of checks) {
    let value;
    try {
      value = c.program(obj);
    } catch (e) {
      return {
        status: "Unknown",
        error: `failed to evaluate the CEL expression '${c.text}': ${e.message.split("\n")[0]}`,
      };
    }
    if (typeof value !== "boolean") {
      return { status: "Unknown", error: `failed to evaluate CEL expression as boolean: '${c.text}'` };
    }
    if (value) return { status: c.status };
  }
  return { status: "InProgress" };
}

const input = JSON.parse(await readStdin());
const exprs = input.exprs ?? {};
let checks;
try {
  if (!exprs.current) throw new Error("expression Current not specified");
  const current = compile("Current", exprs.current);
  const failed = exprs.failed ? compile("Failed", exprs.failed) : null;
  const inProgress = exprs.inProgress ? compile("InProgress", exprs.inProgress) : null;
  checks = [
    inProgress && { ...inProgress, status: "InProgress" },
    failed && { ...failed, status: "Failed" },
    { ...current, status: "Current" },
  ].filter(Boolean);
} catch (e) {
  process.stderr.write(e.message + "\n");
  process.exit(1);
}
process.stdout.write(JSON.stringify(input.objects.map((o) => evaluate(checks, o))) + "\n");
