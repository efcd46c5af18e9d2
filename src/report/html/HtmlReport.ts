import { Effect, Layer } from "effect"
import type { Report, ReviewItem } from "../../domain/Report.ts"
import { CATEGORIES, KPI_METRICS, type Metric, METRICS } from "../../domain/ReportStats.ts"
import { ReportHtml } from "../../services/ReportHtml.ts"
import { breakdownChart, type Chart, distributionChart, trendChart, volumeChart } from "./Charts.ts"
import { STYLE } from "./style.ts"

/**
 * The report as one self-contained HTML page: inline CSS, charts as inline SVG rendered here
 * (ECharts, server side), every chart in a `<figure>` with its numbers in a table below it.
 * No script, no font, no image fetched: it opens offline and prints.
 */

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const thousands = (n: number): string => n.toLocaleString("en-US")
const minutes = (iso: string): string => iso.replace("T", " ").slice(0, 16)

const value = (m: Metric, v: number | null | undefined): string => {
  if (v === null || v === undefined) return "–"
  if (m.binary) return `${(v * 100).toFixed(1)} %`
  if (m.range.max - m.range.min >= 100) return v.toFixed(1)
  if (m.range.min < 0) return `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(2)}`
  return v.toFixed(2)
}

/** A difference of means: rates in percentage points. */
const difference = (m: Metric, d: number | null): string => {
  if (d === null) return "–"
  const sign = d > 0 ? "+" : d < 0 ? "−" : "±"
  return m.binary ? `${sign}${Math.abs(d * 100).toFixed(1)} pp` : `${sign}${Math.abs(d).toFixed(m.range.max - m.range.min >= 100 ? 1 : 2)}`
}

const metricByName = (name: string): Metric => METRICS.find((m) => m.name === name)!
const kpisOf = (category: string) => KPI_METRICS.filter((m) => m.category === category)
const categoryTitle = (c: string) => c.replace(/_/g, " ").replace(/^./, (x) => x.toUpperCase())

const figure = (chart: Chart, table: string, note = ""): string =>
  `<figure class="chart" data-chart="${esc(chart.id)}" aria-label="${esc(chart.title)}">
<div class="svg" style="max-width:${chart.width}px">${chart.svg}</div>
${note !== "" ? `<p class="note">${note}</p>` : ""}
<figcaption class="data"><span class="visually-hidden">Data of ${esc(chart.title)}</span>${table}</figcaption>
</figure>`

/** A table; `align` has one letter per column: `l` text, `r` numbers, `t` a time or a name (no wrap), `m` a long message. */
const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, align: string, cls = ""): string => {
  const attr = (i: number) => ({ r: ` class="num"`, m: ` class="message"`, t: ` class="nowrap"` } as Record<string, string>)[align[i] ?? "l"] ?? ""
  return `<table${cls !== "" ? ` class="${cls}"` : ""}><thead><tr>${head.map((h, i) => `<th${attr(i)}>${h}</th>`).join("")}</tr></thead>
<tbody>${rows.map((r) => `<tr>${r.map((c, i) => `<td${attr(i)}>${c}</td>`).join("")}</tr>`).join("\n")}</tbody></table>`
}

const coverageSection = (r: Report): string => {
  const c = r.coverage
  const card = (label: string, v: string, sub = "") =>
    `<div class="card"><div class="label">${label}</div><div class="value">${v}</div>${sub !== "" ? `<div class="sub">${sub}</div>` : ""}</div>`
  const tags = c.open_dead_letters_by_tag.map((t) => `${esc(t.tag)}: ${thousands(t.count)}`).join(", ")
  return `<section id="coverage"><h2>Coverage</h2>
<div class="cards">
${card("Source conversations in window", thousands(c.source_conversations), "by the source document's _id time")}
${card("Analyzed by this model", thousands(c.analyzed), `all models: ${thousands(c.analyzed_all_models)}`)}
${card("First conversation", c.first_conversation === null ? "–" : minutes(c.first_conversation), "UTC")}
${card("Last conversation", c.last_conversation === null ? "–" : minutes(c.last_conversation), "UTC")}
${card("Backlog", thousands(c.backlog), "source documents not analyzed yet")}
${card("Open dead letters", thousands(c.open_dead_letters), tags)}
</div>
${c.agent_handles_from_sources > 0 ? `<p class="note">${thousands(c.agent_handles_from_sources)} results stored before analysis version 4.3.0 got their agent handle from their source document.</p>` : ""}
${c.models.length === 0 ? "" : table(
    ["Model", "Results", "Analysis versions", "Input tokens", "Output tokens", "Cache write", "Cache read", "Est. cost (USD)"],
    c.models.map((m) => [
      esc(m.model_used),
      thousands(m.results),
      esc(m.analysis_versions.map((v) => `${v.analysis_version} (${v.results})`).join(", ")),
      thousands(m.usage.input_tokens),
      thousands(m.usage.output_tokens),
      thousands(m.usage.cache_creation_input_tokens),
      thousands(m.usage.cache_read_input_tokens),
      m.estimated_cost_usd.toFixed(4)
    ]),
    "lrlrrrrr"
  )}
</section>`
}

const summarySection = (r: Report): string => {
  const rows = CATEGORIES.flatMap((category) => [
    [`<th colspan="7" class="group">${categoryTitle(category)}</th>`],
    ...kpisOf(category).map((m) => {
      const s = r.summary.kpis[m.name]!
      return [
        `<code>${m.name}</code>${m.binary ? " <span class=\"muted\">(rate)</span>" : ""}`,
        `<span class="muted">${m.binary ? "0/1" : `${m.range.min} – ${m.range.max}`}</span>`,
        thousands(s.n),
        value(m, s.mean),
        m.binary ? "" : value(m, s.median),
        m.binary ? "" : value(m, s.p10),
        m.binary ? "" : value(m, s.p90)
      ]
    })
  ])
  const body = rows.map((row) =>
    row.length === 1 ? `<tr>${row[0]}</tr>` : `<tr>${row.map((c, i) => `<td${i >= 2 ? ` class="num"` : ""}>${c}</td>`).join("")}</tr>`
  ).join("\n")
  return `<section id="summary"><h2>KPI summary</h2>
<p class="lead">Each KPI over the ${thousands(r.coverage.analyzed)} conversations of the window; rates for the 0/1 KPIs. Percentiles come from fixed-width histograms (within 0.5 % of the KPI's range).</p>
<table class="summary"><thead><tr><th>KPI</th><th>Range</th><th class="num">n</th><th class="num">Mean</th><th class="num">Median</th><th class="num">10th pct.</th><th class="num">90th pct.</th></tr></thead>
<tbody>${body}</tbody></table>
</section>`
}

const trendSection = (r: Report): string => {
  const periods = r.trend.periods
  const period = r.query.period
  const volume = volumeChart(periods, period)
  const volumeTable = table(
    [period, "Start", "End (excl.)", "Conversations"],
    periods.map((p) => [esc(p.period), p.start, p.end, thousands(p.n)]),
    "tttr",
    "compact"
  )
  const arrow = (v: { readonly change: number | null; readonly significant: boolean }) =>
    v.significant && v.change !== null ? (v.change > 0 ? ` <span class="up" title="significant rise">▲</span>` : ` <span class="down" title="significant fall">▼</span>`) : ""
  const charts = CATEGORIES.map((category) => {
    const kpis = kpisOf(category)
    const chart = trendChart(category, kpis, periods, period)
    const t = table(
      [period, "n", ...kpis.map((m) => `<code>${m.name}</code>`)],
      periods.map((p) => [esc(p.period), thousands(p.n), ...kpis.map((m) => `${value(m, p.kpis[m.name]!.mean)}${arrow(p.kpis[m.name]!)}`)]),
      "t" + "r".repeat(kpis.length + 1),
      "compact"
    )
    return figure(chart, t)
  })
  return `<section id="trend"><h2>Trend</h2>
<p class="lead">Mean of each KPI per ${period}. A change from the previous ${period} is marked (larger point, ▲ green / ▼ red) only where it lies outside its 95 % interval from the standard errors (Welch's t-test; two-proportion test for rates), with at least ${r.trend.min_period_size} conversations in both ${period}s. Unmarked moves are within the noise.</p>
${figure(volume, volumeTable)}
${charts.join("\n")}
</section>`
}

const distributionSection = (r: Report): string => {
  const figures = KPI_METRICS.map((m) => {
    const bins = r.distributions[m.name] ?? []
    const total = bins.reduce((n, b) => n + b.count, 0)
    const chart = distributionChart(m, bins)
    const t = table(
      [m.binary ? "Value" : "Score", "Conversations", "Share"],
      bins.map((b) => [
        m.binary ? (b.from === 1 ? "yes (1)" : "no (0)") : `${b.from} – ${b.to}`,
        thousands(b.count),
        total === 0 ? "–" : `${((100 * b.count) / total).toFixed(1)} %`
      ]),
      "trr",
      "compact"
    )
    return figure(chart, t)
  })
  return `<section id="distributions"><h2>Distributions</h2>
<p class="lead">How the conversations spread over each KPI's range (bins include their lower bound; the last also its upper bound).</p>
<div class="grid">${figures.join("\n")}</div>
</section>`
}

const HEADLINE = ["csat_resolution", "resolution_completeness", "customer_effort_score", "empathy_score"]

const breakdownSection = (r: Report): string => {
  const b = r.breakdown
  const dim = esc(b.dimension)
  if (b.groups.length === 0) return `<section id="breakdown"><h2>Breakdown by ${dim}</h2><p>No results in this window.</p></section>`
  const charts = HEADLINE.map((name) => {
    const m = metricByName(name)
    const chart = breakdownChart(m, b, r.summary.kpis[name]!.mean)
    const shown = Math.min(b.groups.length, 20)
    return `<div class="breakdown-chart" data-chart="${esc(chart.id)}-wrap">${figure(
      chart,
      table(
        [b.dimension, "n", `<code>${m.name}</code>`, "vs reference"],
        b.groups.map((g) => {
          const v = g.kpis[name]!
          return [
            `${esc(g.group)}${g.small ? ` <span class="muted">(small)</span>` : ""}`,
            thousands(g.n),
            `${value(m, v.mean)}${v.worse ? ` <span class="worse" title="significantly worse">!</span>` : ""}`,
            difference(m, v.difference)
          ]
        }),
        "trrr",
        "compact"
      ),
      b.groups.length > shown ? `The chart shows the ${shown} largest of ${b.groups.length} groups; the table lists all.` : ""
    )}</div>`
  })
  const all = table(
    [b.dimension, "n", ...KPI_METRICS.map((m) => `<span title="${esc(m.name)}">${esc(m.label)}</span>`)],
    b.groups.map((g) => [
      `${esc(g.group)}${g.small ? ` <span class="muted">(small)</span>` : ""}`,
      thousands(g.n),
      ...KPI_METRICS.map((m) => {
        const v = g.kpis[m.name]!
        return v.worse ? `<span class="worse" title="significantly worse than the reference">${value(m, v.mean)} !</span>` : value(m, v.mean)
      })
    ]),
    "t" + "r".repeat(KPI_METRICS.length + 1),
    "compact wide"
  )
  const reference = b.reference === "report_model" ? `the report's model (${esc(r.query.model_used ?? "")})` : "the other groups together"
  return `<section id="breakdown"><h2>Breakdown by ${dim}</h2>
<p class="lead">Mean per group, sorted by CSAT (lowest first). <span class="worse">Red / !</span>: significantly worse than ${reference} (95 %; lower, or higher for effort, follow-up and escalation). <span class="muted">Grey / (small)</span>: fewer than ${b.min_group_size} conversations, shown but not judged.</p>
<div class="grid two">${charts.join("\n")}</div>
<h3>All KPIs by ${dim}</h3>
<div class="scroll">${all}</div>
</section>`
}

const reviewTable = (title: string, items: ReadonlyArray<ReviewItem>): string =>
  `<h3>${title}</h3>${
    items.length === 0 ? "<p>None.</p>" : table(
      ["Conversation", "Agent", "Time (UTC)", "CSAT", "Effort", "Empathy", "Resolved", "Customer's last message", "Why (the analysis's reasons)"],
      items.map((i) => [
        `<code>${esc(i.conversation_id)}</code>`,
        esc(i.agent ?? "–"),
        minutes(i.source_timestamp),
        i.csat_resolution.toFixed(1),
        i.customer_effort_score.toFixed(1),
        i.empathy_score.toFixed(2),
        i.resolution_completeness === 1 ? "yes" : "no",
        i.last_customer_message === null ? "<span class=\"muted\">(source gone)</span>" : `“${esc(i.last_customer_message)}”`,
        i.rationale === null
          ? "<span class=\"muted\">(no rationale stored)</span>"
          : [
            `<b>Efficiency:</b> ${esc(i.rationale.efficiency_resolution.reason)}`,
            `<b>Accuracy:</b> ${esc(i.rationale.accuracy_compliance.reason)}`,
            `<b>Empathy:</b> ${esc(i.rationale.empathy_communication.reason)}`
          ].join("<br>")
      ]),
      "lttrrrlmm",
      "review"
    )
  }`

const reviewSection = (r: Report): string =>
  `<section id="review"><h2>Conversations to review</h2>
<p class="lead">The ${r.query.top} lowest by CSAT, and the unresolved ones with the highest customer effort.</p>
${reviewTable("Lowest CSAT", r.review.lowest_csat)}
${reviewTable("Unresolved, highest customer effort", r.review.unresolved_high_effort)}
</section>`

const deadLetterSection = (r: Report): string => {
  const d = r.dead_letters
  if (d.open === 0) return `<section id="dead-letters"><h2>Dead letters</h2><p>No open dead letters.</p></section>`
  return `<section id="dead-letters"><h2>Dead letters</h2>
<p class="lead">${thousands(d.open)} records could not be analyzed: ${d.open_by_tag.map((t) => `${esc(t.tag)} ${thousands(t.count)}`).join(", ")}. Retry them with (add the same <code>--mongo-uri</code> / <code>--db-name</code>):</p>
<pre>${d.retry_commands.map(esc).join("\n")}</pre>
<h3>Oldest open</h3>
${table(
    ["Source id", "Error", "Attempts", "First failed", "Last failed", "Message"],
    d.oldest_open.map((x) => [
      `<code>${esc(x.source_object_id)}</code>`,
      esc(x.reason !== null ? `${x.tag} / ${x.reason}` : x.tag),
      String(x.attempts),
      minutes(x.first_failed_at),
      minutes(x.last_failed_at),
      esc(x.message)
    ]),
    "llrttm",
    "review"
  )}
</section>`
}

/** The whole page. */
export const renderHtml = (r: Report): string => {
  const q = r.query
  const model = q.model_used ?? "no results yet"
  const versions = r.analysis_versions.map((v) => `${v.analysis_version} (${thousands(v.results)})`).join(", ")
  const title = `Conversation performance: ${q.since} to ${q.until}`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cpa report (report_version ${r.report_version})">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Conversation performance report</h1>
<p class="query">Model <strong>${esc(model)}</strong> <span class="muted">(${q.model_chosen_by === "flag" ? "chosen with --model-used" : "the latest analysis's"}${versions !== "" ? `; analysis versions ${esc(versions)}` : ""})</span><br>
Conversations from <strong>${q.since}</strong> to <strong>${q.until}</strong> (exclusive, conversation time, UTC), by ${q.period}; breakdown by ${esc(q.dimension)}.<br>
<span class="muted">Generated ${minutes(r.generated_at)} UTC by <code>cpa report</code>. Results of different models are never averaged together.</span></p>
<nav><a href="#coverage">Coverage</a> · <a href="#summary">KPI summary</a> · <a href="#trend">Trend</a> · <a href="#distributions">Distributions</a> · <a href="#breakdown">Breakdown</a> · <a href="#review">To review</a> · <a href="#dead-letters">Dead letters</a></nav>
</header>
<main>
${coverageSection(r)}
${summarySection(r)}
${r.coverage.analyzed === 0 ? `<section id="trend"><h2>Trend</h2><p>No results of ${esc(model)} in this window.</p></section>` : trendSection(r)}
${r.coverage.analyzed === 0 ? "" : distributionSection(r)}
${breakdownSection(r)}
${reviewSection(r)}
${deadLetterSection(r)}
</main>
</body>
</html>
`
}

export const ReportHtmlLive = Layer.succeed(ReportHtml, ReportHtml.of({ render: (report) => Effect.sync(() => renderHtml(report)) }))
