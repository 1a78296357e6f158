// A strict parser of Prometheus' text exposition format (version 0.0.4), for tests that read
// /metrics as Prometheus would: every sample belongs to a family declared by a # TYPE line before
// it, names and labels follow Prometheus' grammar, values are floats, no series appears twice, and
// histograms carry their _bucket (with le="+Inf"), _sum and _count. Anything else throws, naming
// the line. (No parser package is installed; prom-client only writes the format.)

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: number): number {
  // As Go's strconv.ParseFloat, which Prometheus uses: Inf and NaN in any letter case.
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: "${text}" is not a sample value`);
  return Number(text);
}

// name{label="value",...} value [timestamp]
function parseSample(text: string, line: number): Sample {
  const nameEnd = text.search(/[{\s]/);
  if (nameEnd <= 0) throw new Error(`line ${line}: no metric name in "${text}"`);
  const name = text.slice(0, nameEnd);
  if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name "${name}"`);
  const labels: Record<string, string> = {};
  let i = nameEnd;
  if (text[i] === "{") {
    i++;
    while (text[i] !== "}") {
      const eq = text.indexOf("=", i);
      if (eq < 0) throw new Error(`line ${line}: label without "="`);
      const label = text.slice(i, eq).trim();
      if (!LABEL_NAME.test(label)) throw new Error(`line ${line}: bad label name "${label}"`);
      if (label in labels) throw new Error(`line ${line}: label "${label}" twice`);
      if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value of "${label}" not quoted`);
      let value = "";
      let j = eq + 2;
      for (;;) {
        const c = text[j];
        if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
        if (c === '"') break;
        if (c === "\\") {
          const escaped = text[j + 1];
          if (escaped === "n") value += "\n";
          else if (escaped === "\\" || escaped === '"') value += escaped;
          else throw new Error(`line ${line}: bad escape \\${escaped}`);
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      labels[label] = value;
      i = j + 1;
      if (text[i] === ",") i++;
      else if (text[i] !== "}") throw new Error(`line ${line}: expected "," or "}" after a label`);
    }
    i++;
  }
  const rest = text.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === "")
    throw new Error(`line ${line}: expected a value and an optional timestamp`);
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new Error(`line ${line}: bad timestamp`);
  return { name, labels, value: parseValue(rest[0] as string, line) };
}

/** The family a sample name belongs to: histograms' and summaries' suffixed series included. */
function familyOf(families: Map<string, MetricFamily>, sample: string): MetricFamily | undefined {
  const exact = families.get(sample);
  if (exact) return exact;
  const match = /^(.*)_(bucket|sum|count)$/.exec(sample);
  const family = match ? families.get(match[1] as string) : undefined;
  if (!family) return undefined;
  if (family.type === "histogram") return family;
  if (family.type === "summary" && match?.[2] !== "bucket") return family;
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const helps = new Map<string, string>();
  const seen = new Set<string>();
  const lines = text.split("\n");
  if (lines[lines.length - 1] !== "") throw new Error("the exposition must end with a newline");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    if (raw.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!match) return; // a plain comment
      const [, keyword, name, rest] = match as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name "${name}"`);
      if (keyword === "HELP") {
        if (helps.has(name)) throw new Error(`line ${line}: second HELP for ${name}`);
        helps.set(name, rest);
        return;
      }
      if (!TYPES.has(rest as MetricType)) throw new Error(`line ${line}: unknown type "${rest}"`);
      if (families.has(name)) throw new Error(`line ${line}: second TYPE for ${name}`);
      families.set(name, { name, type: rest as MetricType, help: helps.get(name) ?? "", samples: [] });
      return;
    }
    const sample = parseSample(raw, line);
    const family = familyOf(families, sample.name);
    if (!family) throw new Error(`line ${line}: ${sample.name} has no # TYPE line before it`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${line}: series ${key} appears twice`);
    seen.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type !== "histogram" || family.samples.length === 0) continue;
    const counts = family.samples.filter((s) => s.name === `${family.name}_count`);
    for (const count of counts) {
      const same = (s: Sample) =>
        Object.entries(count.labels).every(([k, v]) => s.labels[k] === v) &&
        Object.keys(s.labels).length ===
          Object.keys(count.labels).length + (s.labels.le !== undefined ? 1 : 0);
      const inf = family.samples.find(
        (s) => s.name === `${family.name}_bucket` && s.labels.le === "+Inf" && same(s),
      );
      if (inf?.value !== count.value)
        throw new Error(
          `${family.name}: the +Inf bucket does not equal _count for ${JSON.stringify(count.labels)}`,
        );
      if (!family.samples.some((s) => s.name === `${family.name}_sum` && same(s)))
        throw new Error(`${family.name}: no _sum for ${JSON.stringify(count.labels)}`);
    }
  }
  return families;
}

/** The value of the one sample with exactly these labels (plus any `extra` wildcard), or undefined. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = familyOf(families, name);
  const sample = family?.samples.find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return sample?.value;
}

/** The sum over the samples of `name` whose labels include `labels`. */
export function sampleSum(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = familyOf(families, name);
  return (family?.samples ?? [])
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
