import type { Report } from "../domain/Report.ts"
import { KPI_METRICS } from "../domain/ReportStats.ts"

export const CSV_COLUMNS = [
  "period",
  "period_start",
  "period_end",
  "dimension",
  "group",
  "model_used",
  "category",
  "kpi",
  "n",
  "mean",
  "std_error"
] as const

/** The group of the rows that cover every conversation of the report's model. */
export const ALL_GROUPS = "(all)"

const field = (v: string | number | null): string => {
  if (v === null) return ""
  const s = typeof v === "number" ? String(Math.round(v * 1e6) / 1e6) : v
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, "\"\"")}"` : s
}

/**
 * One row per period × group × KPI, for spreadsheets: first the group `(all)` (the trend of the
 * report's model), then each group of the breakdown; only (period, group) pairs with data.
 */
export const formatReportCsv = (report: Report): string => {
  const { query } = report
  const bounds = new Map(report.trend.periods.map((p) => [p.period, p]))
  const rows: Array<ReadonlyArray<string | number | null>> = [CSV_COLUMNS]
  for (const p of report.trend.periods) {
    if (p.n === 0) continue
    for (const m of KPI_METRICS) {
      const v = p.kpis[m.name]!
      rows.push([p.period, p.start, p.end, query.dimension, ALL_GROUPS, query.model_used, m.category, m.name, p.n, v.mean, v.std_error])
    }
  }
  for (const c of report.cells) {
    const p = bounds.get(c.period)
    for (const m of KPI_METRICS) {
      const v = c.kpis[m.name]!
      const model = query.dimension === "model" ? c.group : query.model_used
      rows.push([c.period, p?.start ?? null, p?.end ?? null, query.dimension, c.group, model, m.category, m.name, c.n, v.mean, v.std_error])
    }
  }
  return rows.map((r) => r.map(field).join(",")).join("\r\n") + "\r\n"
}
