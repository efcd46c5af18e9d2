import type { Metric } from "effect"

/** The content type of the Prometheus text exposition format this module writes. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

type Snapshot = Metric.Metric.Snapshot
type Labels = ReadonlyArray<readonly [string, string]>

const sanitize = (name: string, valid: RegExp, invalid: RegExp): string => {
  const cleaned = name.replace(invalid, "_")
  return valid.test(cleaned) ? cleaned : `_${cleaned}`
}

/** Metric names may hold `[a-zA-Z0-9_:]` and must not start with a digit. */
export const metricName = (id: string): string => sanitize(id, /^[a-zA-Z_:]/, /[^a-zA-Z0-9_:]/g)

/** Label names may hold `[a-zA-Z0-9_]` and must not start with a digit. */
export const labelName = (key: string): string => sanitize(key, /^[a-zA-Z_]/, /[^a-zA-Z0-9_]/g)

export const escapeLabelValue = (value: string): string =>
  value.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n")

export const escapeHelp = (text: string): string => text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")

export const formatValue = (value: number | bigint | undefined): string => {
  if (typeof value === "bigint") return value.toString()
  if (value === undefined || Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const sample = (name: string, labels: Labels, value: number | bigint | undefined): string => {
  const body = labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")
  return `${name}${body === "" ? "" : `{${body}}`} ${formatValue(value)}`
}

/** Attributes as labels in a stable order, leaving out names the type reserves (`le`, `quantile`). */
const labelsOf = (snapshot: Snapshot, reserved: string | undefined): Labels => {
  const byName = new Map<string, string>()
  for (const [k, v] of Object.entries(snapshot.attributes ?? {})) {
    const name = labelName(k)
    if (name !== reserved) byName.set(name, v)
  }
  return [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

const TYPES: Record<Snapshot["type"], string> = {
  Counter: "counter",
  Gauge: "gauge",
  Histogram: "histogram",
  Summary: "summary",
  // One series per observed value, labelled `key`.
  Frequency: "counter"
}

const samplesOf = (name: string, snapshot: Snapshot): Array<string> => {
  switch (snapshot.type) {
    case "Counter":
      return [sample(name, labelsOf(snapshot, undefined), snapshot.state.count)]
    case "Gauge":
      return [sample(name, labelsOf(snapshot, undefined), snapshot.state.value)]
    case "Frequency": {
      const labels = labelsOf(snapshot, "key")
      return [...snapshot.state.occurrences].map(([key, count]) => sample(name, [...labels, ["key", key]], count))
    }
    case "Histogram": {
      const labels = labelsOf(snapshot, "le")
      const { buckets, count, sum } = snapshot.state
      // Effect's bucket counts are cumulative already; values above the last finite boundary
      // are only in `count`, which is what `+Inf` must show.
      const finite = buckets.filter(([le]) => Number.isFinite(le))
      return [
        ...finite.map(([le, n]) => sample(`${name}_bucket`, [...labels, ["le", formatValue(le)]], n)),
        sample(`${name}_bucket`, [...labels, ["le", "+Inf"]], count),
        sample(`${name}_sum`, labels, sum),
        sample(`${name}_count`, labels, count)
      ]
    }
    case "Summary": {
      const labels = labelsOf(snapshot, "quantile")
      const { count, quantiles, sum } = snapshot.state
      return [
        ...quantiles.map(([q, v]) => sample(name, [...labels, ["quantile", formatValue(q)]], v)),
        sample(`${name}_sum`, labels, sum),
        sample(`${name}_count`, labels, count)
      ]
    }
  }
}

/**
 * Renders a metrics snapshot in the Prometheus text exposition format 0.0.4: one family per
 * metric name (`# HELP`, `# TYPE`, then one sample line per series and attribute set).
 * Families are sorted by name. A series whose type differs from the first series of the same
 * name is left out, since a family has one type.
 */
export const renderPrometheus = (snapshots: ReadonlyArray<Snapshot>): string => {
  const families = new Map<string, Array<Snapshot>>()
  for (const s of snapshots) {
    const name = metricName(s.id)
    const family = families.get(name)
    if (family === undefined) families.set(name, [s])
    else if (family[0]!.type === s.type) family.push(s)
  }
  const lines: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!
    const description = family.find((s) => s.description !== undefined && s.description !== "")?.description
    if (description !== undefined) lines.push(`# HELP ${name} ${escapeHelp(description)}`)
    lines.push(`# TYPE ${name} ${TYPES[family[0]!.type]}`)
    for (const s of family) lines.push(...samplesOf(name, s))
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}
