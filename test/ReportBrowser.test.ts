import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { type Browser, chromium } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import type { Report } from "../src/domain/Report.ts"
import { CATEGORIES, KPI_METRICS } from "../src/domain/ReportStats.ts"
import { buildReport, DEFAULT_REPORT_OPTIONS, type ReportOptions } from "../src/programs/Report.ts"
import { CHART_GROUPS } from "../src/report/html/Charts.ts"
import { renderHtml } from "../src/report/html/HtmlReport.ts"
import { demoWorld } from "./support/demoWorld.ts"
import { REPO_ROOT } from "./support/fixtures.ts"

/**
 * The HTML report in a real browser: Debian's Chromium, headless, driven by playwright-core.
 * Without a browser the test is skipped with a loud warning, except in CI, where it fails.
 */
const CHROMIUM = process.env.CPA_TEST_CHROMIUM ?? "/usr/bin/chromium"
const OUT = path.join(REPO_ROOT, "test-output", "report")
const available = fs.existsSync(CHROMIUM)
const required = process.env.CI === "true"

if (!available && !required) {
  process.stderr.write(`\n!!! ReportBrowser.test.ts: NO CHROMIUM at ${CHROMIUM}: the browser check of the HTML report is SKIPPED (apt-get install chromium)\n\n`)
}

/** The report of the demo data (the bundled samples, heuristic analyzer), as `cpa report` builds it. */
const demoReport = (patch: Partial<ReportOptions> = {}): Promise<Report> =>
  Effect.runPromise(Effect.gen(function*() {
    const { layer } = yield* demoWorld()
    return yield* buildReport({ ...DEFAULT_REPORT_OPTIONS, ...patch }).pipe(Effect.provide(layer))
  }))

/** What each chart must draw, from the report's own numbers: bars, points with data, groups. */
const expectedMarks = (r: Report): Record<string, number> => {
  const periods = r.trend.periods
  const groups = Math.min(CHART_GROUPS, r.breakdown.groups.length)
  return {
    volume: periods.length,
    ...Object.fromEntries(CATEGORIES.map((c) => [
      `trend-${c}`,
      KPI_METRICS.filter((m) => m.category === c).reduce((n, m) => n + periods.filter((p) => p.kpis[m.name]!.mean !== null).length, 0)
    ])),
    ...Object.fromEntries(KPI_METRICS.map((m) => [`distribution-${m.name}`, r.distributions[m.name]!.length])),
    ...Object.fromEntries(["csat_resolution", "resolution_completeness", "customer_effort_score", "empathy_score"].map((k) => [`breakdown-${k}`, groups]))
  }
}

interface PageCheck {
  readonly errors: ReadonlyArray<string>
  readonly requests: ReadonlyArray<string>
  readonly charts: ReadonlyArray<{
    readonly id: string
    readonly width: number
    readonly height: number
    readonly marks: number
    readonly title: string
    readonly svgText: string
    readonly tableRows: number
  }>
}

describe.skipIf(!available && !required)("the HTML report in Chromium", () => {
  let browser: Browser

  beforeAll(async () => {
    if (!available) throw new Error(`CI: no Chromium at ${CHROMIUM}; .ci/run installs Debian's chromium package`)
    fs.mkdirSync(OUT, { recursive: true })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
  })

  /** Opens `html` from a file, collects errors and requests, measures every chart; saves a screenshot. */
  const open = async (html: string, name: string, options: { readonly pdf?: boolean } = {}): Promise<PageCheck> => {
    const file = path.join(OUT, `${name}.html`)
    fs.writeFileSync(file, html)
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const errors: Array<string> = []
    const requests: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(`console.${m.type()}: ${m.text()}`)
    })
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`))
    page.on("request", (r) => requests.push(r.url()))
    try {
      await page.goto(`file://${file}`, { waitUntil: "load" })
      const charts = await page.$$eval("figure.chart", (figures) =>
        figures.map((f) => {
          const svg = f.querySelector("svg")
          const box = svg?.getBoundingClientRect()
          return {
            id: f.getAttribute("data-chart") ?? "",
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            // data marks (bars, points) are filled shapes; a reference line is an unfilled path
            marks: svg?.querySelectorAll("[ecmeta_data_index]:not([fill=\"none\"])").length ?? 0,
            title: svg?.getAttribute("aria-label") ?? "",
            svgText: svg?.textContent ?? "",
            tableRows: f.querySelectorAll("figcaption table tbody tr").length
          }
        }))
      await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true })
      if (options.pdf === true) {
        await page.emulateMedia({ media: "print" })
        await page.pdf({ path: path.join(OUT, `${name}.pdf`), format: "A4", printBackground: true })
      }
      return { errors, requests, charts }
    } finally {
      await page.close()
    }
  }

  it("the demo's report: no errors, no network, every chart drawn with its marks, its title, axes and table", async () => {
    const report = await demoReport()
    const html = renderHtml(report)
    assert.notInclude(html, "<script")
    assert.notMatch(html, /\b(?:src|href)="https?:/)
    const check = await open(html, "demo-report", { pdf: true })
    assert.deepStrictEqual(check.errors, [])
    assert.deepStrictEqual(check.requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:")), [])

    const expected = expectedMarks(report)
    assert.deepStrictEqual(check.charts.map((c) => c.id).sort(), Object.keys(expected).sort())
    for (const chart of check.charts) {
      assert.isAbove(chart.width, 100, chart.id)
      assert.isAbove(chart.height, 100, chart.id)
      assert.strictEqual(chart.marks, expected[chart.id], `marks of ${chart.id}`)
      assert.isAbove(expected[chart.id]!, 0, chart.id)
      // the title is drawn in the chart, and the axes are named
      assert.include(chart.svgText, chart.id.startsWith("distribution-") ? chart.id.slice("distribution-".length) : chart.title, chart.id)
      assert.match(chart.svgText, /conversations|mean|rate %/, chart.id)
      assert.isAbove(chart.tableRows, 0, `${chart.id} has its numbers in a table`)
    }
    assert.isAbove(fs.statSync(path.join(OUT, "demo-report.png")).size, 50_000)
    assert.isAbove(fs.statSync(path.join(OUT, "demo-report.pdf")).size, 50_000)
  }, 60_000)

  it("by model and by intent, monthly: the same checks hold", async () => {
    for (const patch of [{ dimension: "model" as const }, { dimension: "intent" as const, period: "month" as const, since: new Date("2024-01-01T00:00:00Z"), until: new Date("2024-11-01T00:00:00Z") }]) {
      const report = await demoReport(patch)
      const check = await open(renderHtml(report), `demo-report-${patch.dimension}`)
      assert.deepStrictEqual(check.errors, [])
      const expected = expectedMarks(report)
      for (const chart of check.charts) {
        assert.isAbove(chart.width * chart.height, 0, chart.id)
        assert.strictEqual(chart.marks, expected[chart.id], `${patch.dimension}: marks of ${chart.id}`)
      }
    }
  }, 60_000)

  it("a report with no results renders without charts and without errors", async () => {
    const report = await demoReport({ since: new Date("2020-01-06T00:00:00Z"), until: new Date("2020-02-03T00:00:00Z") })
    const check = await open(renderHtml(report), "empty-report")
    assert.deepStrictEqual(check.errors, [])
    assert.deepStrictEqual(check.charts, [])
  }, 60_000)
})
