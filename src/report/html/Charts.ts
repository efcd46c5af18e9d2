import * as echarts from "echarts"
import type { Breakdown, DistributionBin, TrendPeriod } from "../../domain/Report.ts"
import { type Metric } from "../../domain/ReportStats.ts"

/**
 * The report's charts as ECharts options, rendered on the server to SVG strings (no DOM, no
 * script in the page). Every data mark (a bar, a point) is a filled shape carrying ECharts'
 * `ecmeta_data_index` attribute, which the browser test counts; reference lines are unfilled.
 */

export const COLORS = {
  bar: "#4e79a7",
  line: "#4e79a7",
  up: "#2e7d32",
  down: "#c62828",
  worse: "#c62828",
  small: "#b0b0b0",
  reference: "#555555",
  text: "#222222",
  axis: "#666666"
} as const

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

export interface Chart {
  /** Stable id: `volume`, `trend-<category>`, `distribution-<kpi>`, `breakdown-<kpi>`. */
  readonly id: string
  readonly title: string
  readonly svg: string
  readonly width: number
  readonly height: number
}

/** Renders one option to an SVG string with an accessible name. */
const render = (id: string, title: string, width: number, height: number, option: Record<string, unknown>): Chart => {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height })
  try {
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: FONT, color: COLORS.text },
      ...option
    })
    const svg = chart.renderToSVGString()
      .replace(/^<svg /, `<svg role="img" aria-label="${escapeAttr(title)}" `)
    return { id, title, svg, width, height }
  } finally {
    chart.dispose()
  }
}

const escapeAttr = (s: string): string => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;")

const titleStyle = { fontSize: 15, fontWeight: "bold", color: COLORS.text, fontFamily: FONT }
const axisName = { color: COLORS.axis, fontSize: 12, fontFamily: FONT }

/** `2024-W33` → `W33`, `2024-08-12` → `08-12`: short category labels. */
const shortPeriod = (label: string): string => label.replace(/^\d{4}-(W\d\d)$/, "$1").replace(/^\d{4}-(\d\d-\d\d)$/, "$1")

const rangeText = (m: Metric): string => (m.binary ? "rate, %" : `${m.range.min} to ${m.range.max}`)

/** Number of conversations per period. */
export const volumeChart = (periods: ReadonlyArray<TrendPeriod>, period: string): Chart =>
  render("volume", `Conversations analyzed per ${period}`, 920, 260, {
    title: { text: `Conversations analyzed per ${period}`, left: "center", textStyle: titleStyle },
    grid: { left: 70, right: 30, top: 50, bottom: 60 },
    xAxis: {
      type: "category",
      data: periods.map((p) => shortPeriod(p.period)),
      name: period,
      nameLocation: "middle",
      nameGap: 32,
      nameTextStyle: axisName
    },
    yAxis: { type: "value", name: "conversations", nameLocation: "middle", nameGap: 45, nameTextStyle: axisName, minInterval: 1 },
    series: [{ type: "bar", data: periods.map((p) => p.n), itemStyle: { color: COLORS.bar }, barMaxWidth: 40 }]
  })

/**
 * One chart per KPI category: a small panel per KPI (each with its own scale), the mean per
 * period as a line; a point whose change from the previous period is significant is drawn
 * larger, green up or red down.
 */
export const trendChart = (
  category: string,
  metrics: ReadonlyArray<Metric>,
  periods: ReadonlyArray<TrendPeriod>,
  period: string
): Chart => {
  const cols = metrics.length > 2 ? 3 : 2
  const rows = Math.ceil(metrics.length / cols)
  const width = 920
  const panelW = (width - 40) / cols
  const panelH = 200
  const top = 40
  const height = top + rows * panelH + 10
  const labels = periods.map((p) => shortPeriod(p.period))
  const grids = metrics.map((_, k) => {
    const c = k % cols
    const r = Math.floor(k / cols)
    return { left: 20 + c * panelW + 58, width: panelW - 78, top: top + r * panelH + 40, height: panelH - 100 }
  })
  const title = `Trend: ${category.replace(/_/g, " ")}, mean per ${period}`
  return render(`trend-${category}`, title, width, height, {
    title: [
      { text: title, left: "center", top: 4, textStyle: titleStyle },
      ...metrics.map((m, k) => ({
        text: m.name,
        subtext: rangeText(m),
        left: grids[k]!.left - 48,
        top: grids[k]!.top - 38,
        textStyle: { fontSize: 12, fontWeight: "bold", color: COLORS.text, fontFamily: FONT },
        subtextStyle: { fontSize: 11, color: COLORS.axis, fontFamily: FONT },
        itemGap: 2
      }))
    ],
    grid: grids,
    xAxis: metrics.map((_, k) => ({
      type: "category",
      gridIndex: k,
      data: labels,
      name: period,
      nameLocation: "middle",
      nameGap: 24,
      nameTextStyle: { ...axisName, fontSize: 11 },
      axisLabel: { fontSize: 10, hideOverlap: true }
    })),
    yAxis: metrics.map((m, k) => ({
      type: "value",
      gridIndex: k,
      ...(m.binary ? { min: 0, max: 100, interval: 25 } : { scale: true, splitNumber: 3 }),
      name: m.binary ? "rate %" : "mean",
      nameLocation: "middle",
      nameGap: 38,
      nameTextStyle: { ...axisName, fontSize: 11 },
      axisLabel: { fontSize: 10 }
    })),
    series: metrics.map((m, k) => ({
      type: "line",
      xAxisIndex: k,
      yAxisIndex: k,
      showSymbol: true,
      showAllSymbol: true,
      connectNulls: false,
      symbolSize: 5,
      lineStyle: { color: COLORS.line, width: 2 },
      itemStyle: { color: COLORS.line },
      data: periods.map((p) => {
        const v = p.kpis[m.name]!
        if (v.mean === null) return null
        const value = m.binary ? Math.round(v.mean * 1000) / 10 : Math.round(v.mean * 100) / 100
        return v.significant && v.change !== null
          ? { value, symbol: "circle", symbolSize: 11, itemStyle: { color: v.change > 0 ? COLORS.up : COLORS.down } }
          : value
      })
    }))
  })
}

const binLabel = (m: Metric, b: DistributionBin): string =>
  m.binary ? (b.from === 1 ? "yes (1)" : "no (0)") : `${b.from}–${b.to}`

/** The distribution of one KPI over the report's conversations. */
export const distributionChart = (m: Metric, bins: ReadonlyArray<DistributionBin>): Chart =>
  render(`distribution-${m.name}`, `Distribution of ${m.name}`, 330, 240, {
    title: { text: m.name, subtext: rangeText(m), left: "center", textStyle: { ...titleStyle, fontSize: 13 }, itemGap: 2 },
    grid: { left: 52, right: 12, top: 54, bottom: 58 },
    xAxis: {
      type: "category",
      data: bins.map((b) => binLabel(m, b)),
      name: m.binary ? "value" : "score",
      nameLocation: "middle",
      nameGap: 38,
      nameTextStyle: axisName,
      axisLabel: { fontSize: 10, interval: 0, rotate: bins.length > 6 ? 35 : 0 }
    },
    yAxis: { type: "value", name: "conversations", nameLocation: "middle", nameGap: 40, nameTextStyle: axisName, minInterval: 1 },
    series: [{ type: "bar", data: bins.map((b) => b.count), itemStyle: { color: COLORS.bar }, barCategoryGap: "15%" }]
  })

/** Groups drawn in a breakdown chart (the table lists all). */
export const CHART_GROUPS = 20

/**
 * One KPI across the breakdown's groups (the largest `CHART_GROUPS`, in the table's order):
 * red when significantly worse than the reference, grey when too small to judge; the dashed
 * line is the report's overall mean.
 */
export const breakdownChart = (m: Metric, breakdown: Breakdown, overall: number | null): Chart => {
  const groups = [...breakdown.groups]
    .sort((a, b) => b.n - a.n)
    .slice(0, CHART_GROUPS)
  const order = new Map(breakdown.groups.map((g, i) => [g.group, i]))
  groups.sort((a, b) => order.get(a.group)! - order.get(b.group)!)
  const scale = (v: number) => (m.binary ? Math.round(v * 1000) / 10 : Math.round(v * 100) / 100)
  const title = `${m.name} by ${breakdown.dimension}`
  // ECharts draws the first category at the bottom: reverse so the table's first row is on top
  const shown = [...groups].reverse()
  return render(`breakdown-${m.name}`, title, 450, 110 + shown.length * 24, {
    title: {
      text: title,
      subtext: overall === null ? "" : `dashed: all conversations, ${scale(overall)}${m.binary ? " %" : ""}`,
      left: "center",
      top: 4,
      textStyle: { ...titleStyle, fontSize: 13 },
      itemGap: 2
    },
    grid: { left: 150, right: 30, top: 78, bottom: 40 },
    yAxis: {
      type: "category",
      data: shown.map((g) => (g.group.length > 22 ? `${g.group.slice(0, 21)}…` : g.group)),
      name: breakdown.dimension,
      nameLocation: "end",
      nameTextStyle: axisName,
      axisLabel: { fontSize: 11 }
    },
    xAxis: {
      type: "value",
      name: m.binary ? "rate %" : "mean",
      nameLocation: "middle",
      nameGap: 26,
      nameTextStyle: axisName,
      ...(m.binary ? { min: 0, max: 100 } : { min: m.range.min, max: m.range.max })
    },
    series: [
      {
        type: "bar",
        barMaxWidth: 16,
        data: shown.map((g) => {
          const v = g.kpis[m.name]!
          return {
            value: v.mean === null ? 0 : scale(v.mean),
            itemStyle: { color: g.small ? COLORS.small : v.worse ? COLORS.worse : COLORS.bar }
          }
        })
      },
      ...(overall === null ? [] : [{
        type: "line",
        data: [],
        markLine: {
          symbol: "none",
          silent: true,
          label: { show: false },
          lineStyle: { color: COLORS.reference, type: "dashed", width: 1.5 },
          data: [{ xAxis: scale(overall) }]
        }
      }])
    ]
  })
}
