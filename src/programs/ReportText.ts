import type { Report, ReviewItem } from "../domain/Report.ts"
import { CATEGORIES, KPI_METRICS, type Metric, METRICS, MIN_GROUP_SIZE } from "../domain/ReportStats.ts"
import { RULE } from "./Reports.ts"

/** Every line of the text report fits this many columns. */
export const TEXT_WIDTH = 100
/** Groups listed in the text breakdown (the JSON and CSV formats list all). */
const TEXT_GROUPS = 30

const thousands = (n: number): string => n.toLocaleString("en-US")

/** `2024-10-30 12:00` from an ISO time. */
const minutes = (iso: string): string => iso.replace("T", " ").slice(0, 16)

const cut = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`)
const left = (s: string, n: number): string => cut(s, n).padEnd(n)
const right = (s: string, n: number): string => cut(s, n).padStart(n)

/** A KPI value as people read it: rates in %, 0–100 scales with one decimal, others with two. */
export const formatValue = (m: Metric, v: number | null): string => {
  if (v === null) return "-"
  if (m.binary) return `${(v * 100).toFixed(1)}%`
  if (m.range.max - m.range.min >= 100) return v.toFixed(1)
  if (m.range.min < 0) return `${v >= 0 ? "+" : ""}${v.toFixed(2)}`
  return v.toFixed(2)
}

const heading = (title: string): Array<string> => [RULE, title, RULE]

const kpisOf = (category: string) => KPI_METRICS.filter((m) => m.category === category)

/** A table per KPI category: `first` columns, then one 11-wide column per KPI. */
const categoryTables = <R>(
  rows: ReadonlyArray<R>,
  head: string,
  firstCell: (r: R) => string,
  cell: (r: R, m: Metric) => string
): Array<string> =>
  CATEGORIES.flatMap((category) => {
    const kpis = kpisOf(category)
    return [
      `  ${category}`,
      `  ${head}${kpis.map((m) => right(m.label, 11)).join(" ")}`,
      ...rows.map((r) => `  ${firstCell(r)}${kpis.map((m) => right(cell(r, m), 11)).join(" ")}`),
      ""
    ]
  })

const modelLine = (r: Report): string => {
  const q = r.query
  if (q.model_used === null) return "Model: none (no results stored yet)"
  const versions = r.analysis_versions.map((v) => `${v.analysis_version} (${thousands(v.results)})`).join(", ")
  return `Model: ${cut(q.model_used, 40)} (${q.model_chosen_by === "flag" ? "--model-used" : "latest analysis; --model-used to choose"})${
    versions !== "" ? `; analysis versions ${versions}` : ""
  }`
}

/** The first part of the report: what was asked, coverage and the KPI summary. */
export const formatReportSummary = (r: Report): string => {
  const q = r.query
  const c = r.coverage
  const tags = c.open_dead_letters_by_tag.map((t) => `${t.tag}: ${thousands(t.count)}`).join(", ")
  const line = (label: string, value: string) => `  ${label.padEnd(34)}${value}`
  const money = (x: number) => x.toFixed(4)
  return [
    ...heading("PERFORMANCE REPORT"),
    modelLine(r),
    `Window: ${q.since} to ${q.until} (exclusive), conversation time (UTC), by ${q.period}; breakdown by ${q.dimension}`,
    "",
    "COVERAGE",
    line("Source conversations in window:", `${thousands(c.source_conversations)} (by the source _id's time)`),
    line(`Analyzed by the report's model:`, `${thousands(c.analyzed)} (all models: ${thousands(c.analyzed_all_models)})`),
    line("First / last conversation:", c.first_conversation === null ? "-" : `${minutes(c.first_conversation)} / ${minutes(c.last_conversation!)}`),
    line("Backlog (not analyzed yet):", thousands(c.backlog)),
    line("Open dead letters:", `${thousands(c.open_dead_letters)}${tags !== "" ? ` (${tags})` : ""}`),
    ...(c.agent_handles_from_sources > 0 ? [line("Agent handles from sources:", `${thousands(c.agent_handles_from_sources)} (results before 4.3.0)`)] : []),
    ...(c.models.length === 0 ? [] : [
      "",
      `  ${left("model", 30)}${right("results", 9)}${right("input tok", 13)}${right("output tok", 12)}${right("cache tok", 13)}${right("cost USD", 11)}`,
      ...c.models.map((m) =>
        `  ${left(m.model_used, 30)}${right(thousands(m.results), 9)}${right(thousands(m.usage.input_tokens), 13)}${
          right(thousands(m.usage.output_tokens), 12)
        }${right(thousands(m.usage.cache_creation_input_tokens + m.usage.cache_read_input_tokens), 13)}${right(money(m.estimated_cost_usd), 11)}`
      )
    ]),
    "",
    `KPI SUMMARY (n = ${thousands(c.analyzed)})`,
    ...(c.analyzed === 0
      ? [`  No results of ${q.model_used ?? "any model"} in this window.${
        c.analyzed_all_models > 0 ? ` Other models have ${thousands(c.analyzed_all_models)}: see the table above, --model-used.` : ""
      }`]
      : [
        `  ${left("KPI", 34)}${right("mean", 10)}${right("median", 10)}${right("p10", 10)}${right("p90", 10)}`,
        ...CATEGORIES.flatMap((category) => [
          `  ${category}`,
          ...kpisOf(category).map((m) => {
            const s = r.summary.kpis[m.name]!
            return m.binary
              ? `    ${left(m.name, 32)}${right(formatValue(m, s.mean), 10)}  (rate)`
              : `    ${left(m.name, 32)}${right(formatValue(m, s.mean), 10)}${right(formatValue(m, s.median), 10)}${
                right(formatValue(m, s.p10), 10)
              }${right(formatValue(m, s.p90), 10)}`
          })
        ])
      ])
  ].join("\n")
}

const reviewTable = (title: string, items: ReadonlyArray<ReviewItem>): Array<string> => {
  const metric = (name: string) => METRICS.find((m) => m.name === name)!
  return [
    `  ${title}`,
    ...(items.length === 0 ? ["    (none)"] : [
      `  ${left("conversation", 30)}${left("agent", 18)}${left("time (UTC)", 17)}${right("CSAT", 6)}${right("effort", 8)}${right("empathy", 9)}${right("resolved", 10)}`,
      ...items.flatMap((i) => [
        `  ${left(i.conversation_id, 30)}${left(i.agent ?? "-", 18)}${left(minutes(i.source_timestamp), 17)}${
          right(formatValue(metric("csat_resolution"), i.csat_resolution), 6)
        }${right(formatValue(metric("customer_effort_score"), i.customer_effort_score), 8)}${
          right(formatValue(metric("empathy_score"), i.empathy_score), 9)
        }${right(i.resolution_completeness === 1 ? "yes" : "no", 10)}`,
        ...(i.last_customer_message !== null ? [`      customer: ${cut(`"${i.last_customer_message}"`, TEXT_WIDTH - 16)}`] : []),
        // CSAT and effort are efficiency KPIs: that category's reason says why they are low/high.
        ...(i.rationale !== null ? [`      why: ${cut(i.rationale.efficiency_resolution.reason, TEXT_WIDTH - 11)}`] : [])
      ])
    ]),
    ""
  ]
}

/** The whole text report: summary, trend, breakdown, conversations to review, dead letters. */
export const formatReportText = (r: Report): string => {
  const q = r.query
  const periods = r.trend.periods
  const groups = r.breakdown.groups
  const shown = groups.slice(0, TEXT_GROUPS)
  const arrow = (v: { readonly change: number | null; readonly significant: boolean }) =>
    v.significant && v.change !== null ? (v.change > 0 ? "▲" : "▼") : " "
  const d = r.dead_letters
  const lines = [
    formatReportSummary(r),
    "",
    `TREND by ${q.period}: mean per period; ▲▼ a change from the previous period beyond its noise`,
    `(95 %, both periods with n >= ${r.trend.min_period_size})`,
    ...(r.coverage.analyzed === 0 ? ["  (no results)", ""] : categoryTables(
      periods,
      `${left("period", 12)}${right("n", 6)} `,
      (p) => `${left(p.period, 12)}${right(thousands(p.n), 6)} `,
      (p, m) => {
        const v = p.kpis[m.name]!
        return `${formatValue(m, v.mean)}${arrow(v)}`
      }
    )),
    `BREAKDOWN by ${q.dimension}: mean per group, sorted by CSAT (lowest first); ! significantly worse`,
    `than ${r.breakdown.reference === "report_model" ? `the report's model (${cut(q.model_used ?? "", 30)})` : "the other groups together"} (95 %); groups with n < ${MIN_GROUP_SIZE} last, never marked`,
    ...(groups.length === 0 ? ["  (no results)", ""] : [
      ...categoryTables(
        shown,
        `${left(q.dimension, 20)}${right("n", 6)} `,
        (g) => `${left(g.group, 20)}${right(thousands(g.n), 6)} `,
        (g, m) => {
          const v = g.kpis[m.name]!
          return `${formatValue(m, v.mean)}${v.worse ? "!" : " "}`
        }
      ),
      ...(groups.length > shown.length ? [`  (${groups.length - shown.length} more groups: --format json or csv lists all)`, ""] : [])
    ]),
    `CONVERSATIONS TO REVIEW (${q.model_used ?? "-"})`,
    ...reviewTable(`Lowest CSAT (${r.review.lowest_csat.length})`, r.review.lowest_csat),
    ...reviewTable(`Unresolved, highest customer effort (${r.review.unresolved_high_effort.length})`, r.review.unresolved_high_effort),
    `DEAD LETTERS (open: ${thousands(d.open)})`,
    ...(d.open === 0 ? ["  (none)"] : [
      ...d.open_by_tag.map((t) => `  ${left(t.tag, 28)}${right(thousands(t.count), 8)}   retry: cpa dead-letters retry --error ${cut(t.tag, 30)}`),
      ...(d.open_by_tag.length > 1 ? [`  all of them: cpa dead-letters retry --all`] : []),
      "  (add this report's --mongo-uri/--db-name; cpa dead-letters list shows them all)",
      "",
      `  Oldest open (${d.oldest_open.length})`,
      `  ${left("source id", 26)}${left("error", 36)}${left("last failure (UTC)", 20)}${right("attempts", 8)}`,
      ...d.oldest_open.flatMap((x) => [
        `  ${left(x.source_object_id, 26)}${left(x.reason !== null ? `${x.tag}/${x.reason}` : x.tag, 36)}${left(minutes(x.last_failed_at), 20)}${
          right(String(x.attempts), 8)
        }`,
        `      ${cut(x.message, TEXT_WIDTH - 6)}`
      ])
    ])
  ]
  return lines.join("\n").replace(/[ ]+$/gm, "")
}
