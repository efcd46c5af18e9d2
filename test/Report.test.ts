import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { fixedScores } from "./support/fixtures.ts"
import type { KpiScores } from "../src/domain/Kpi.ts"
import type { Report } from "../src/domain/Report.ts"
import { KPI_METRICS, metricIndex, METRICS, MIN_GROUP_SIZE, tCritical } from "../src/domain/ReportStats.ts"
import { buildReport, DEFAULT_REPORT_OPTIONS, parseReportInput, type ReportOptions } from "../src/programs/Report.ts"
import { ALL_GROUPS, CSV_COLUMNS, formatReportCsv } from "../src/programs/ReportCsv.ts"
import { formatReportJson } from "../src/programs/ReportJson.ts"
import { formatReportText, TEXT_WIDTH } from "../src/programs/ReportText.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { makeMemoryConversationStore } from "../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { memoryWorld, testSettings } from "./support/fixtures.ts"
import { demoWorld } from "./support/demoWorld.ts"
import {
  type Conv,
  customerLast,
  deadLetter,
  idAt,
  resultOf,
  sourceOf,
  twoWeeks,
  unanalyzed,
  WEEK1
} from "./support/reportFixtures.ts"

// ---------------------------------------------------------------------------------------------
// Independent arithmetic on the fixture's own numbers

const scoreOf = (c: Conv, kpi: keyof KpiScores): number => (c.scores?.[kpi] ?? fixedScores[kpi]) as number
const avg = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const sd2 = (xs: ReadonlyArray<number>) => {
  const m = avg(xs)
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)
}
const welchSignificant = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  const va = sd2(a) / a.length
  const vb = sd2(b) / b.length
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1))
  return Math.abs(avg(a) - avg(b)) > tCritical(df) * Math.sqrt(va + vb)
}
const quantile = (xs: ReadonlyArray<number>, p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  const r = p * (s.length - 1)
  const lo = Math.floor(r)
  return s[lo]! + (r - lo) * ((s[lo + 1] ?? s[lo]!) - s[lo]!)
}

const SINCE = "2024-03-04"
const UNTIL = "2024-03-18"
const inWindow = (c: Conv) => c.at >= `${SINCE}T00:00:00Z` && c.at < `${UNTIL}T00:00:00Z`
const modelA = (c: Conv) => (c.model ?? "model-a") === "model-a"

/** The in-memory stores holding the fixture's sources, results and dead letters. */
const world = (convs: ReadonlyArray<Conv>, options: { readonly extraSources?: ReadonlyArray<Conv>; readonly dropSources?: ReadonlyArray<number> } = {}) =>
  Effect.gen(function*() {
    const w = memoryWorld([...convs, ...(options.extraSources ?? [])].filter((c) => !(options.dropSources ?? []).includes(c.i)).map(sourceOf))
    const store = makeMemoryConversationStore(w.store)
    for (const c of convs) yield* store.upsertResult(yield* resultOf(c))
    yield* store.upsertDeadLetter(deadLetter(1, "AnalyzerError", "2024-03-10T10:00:00Z"))
    yield* store.upsertDeadLetter(deadLetter(2, "InvalidSourceDocument", "2024-03-08T10:00:00Z"))
    yield* store.upsertDeadLetter(deadLetter(3, "AnalyzerError", "2024-03-01T10:00:00Z"))
    yield* store.resolveDeadLetter(deadLetter(3, "AnalyzerError", "").source_object_id, "2024-03-11T00:00:00Z")
    return { w, layer: Layer.merge(w.layer, testSettings()) }
  })

const options = (patch: Partial<ReportOptions> = {}): ReportOptions => ({
  ...DEFAULT_REPORT_OPTIONS,
  since: new Date(`${SINCE}T00:00:00Z`),
  until: new Date(`${UNTIL}T00:00:00Z`),
  ...patch
})

const reportOf = (convs: ReadonlyArray<Conv>, patch: Partial<ReportOptions> = {}, worldOptions: Parameters<typeof world>[1] = {}) =>
  Effect.gen(function*() {
    const { layer } = yield* world(convs, worldOptions)
    return yield* buildReport(options(patch)).pipe(Effect.provide(layer))
  })

describe("cpa report: the figures", () => {
  const convs = twoWeeks()
  const covered = convs.filter((c) => inWindow(c) && modelA(c))

  it.effect("coverage: sources in the window, results by model with tokens and cost, dead letters, backlog", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, {}, { extraSources: [unanalyzed] })
      assert.deepStrictEqual(r.query, {
        since: SINCE,
        until: UNTIL,
        period: "week",
        dimension: "agent",
        model_used: "model-a",
        model_chosen_by: "latest",
        top: 10,
        time_field: "source_timestamp",
        timezone: "UTC"
      })
      const c = r.coverage
      assert.strictEqual(c.source_conversations, [...convs, unanalyzed].filter(inWindow).length)
      assert.strictEqual(c.analyzed, covered.length)
      assert.strictEqual(c.analyzed_all_models, convs.filter(inWindow).length)
      assert.strictEqual(c.first_conversation, [...covered].sort((a, b) => (a.at < b.at ? -1 : 1))[0]!.at)
      assert.strictEqual(c.last_conversation, [...covered].sort((a, b) => (a.at < b.at ? 1 : -1))[0]!.at)
      assert.strictEqual(c.backlog, convs.length + 1)
      assert.strictEqual(c.open_dead_letters, 2)
      assert.deepStrictEqual(c.open_dead_letters_by_tag, [{ tag: "AnalyzerError", count: 1 }, { tag: "InvalidSourceDocument", count: 1 }])
      const a = c.models.find((m) => m.model_used === "model-a")!
      const b = c.models.find((m) => m.model_used === "model-b")!
      assert.strictEqual(a.results, covered.length)
      assert.strictEqual(a.usage.input_tokens, covered.reduce((n, x) => n + (x.usage?.input_tokens ?? 0), 0))
      assert.closeTo(a.estimated_cost_usd, covered.reduce((n, x) => n + (x.cost ?? 0), 0), 1e-9)
      assert.deepStrictEqual(a.analysis_versions, [{ analysis_version: "4.2.0", results: 2 }, { analysis_version: "4.3.0", results: covered.length - 2 }])
      assert.deepStrictEqual([b.results, b.usage.input_tokens, b.estimated_cost_usd], [1, 500, 0.5])
      assert.deepStrictEqual(r.analysis_versions, a.analysis_versions)
    }))

  it.effect("KPI summary: n, means, rates and percentiles (within one bin) of the report's model only", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs)
      for (const kpi of ["csat_resolution", "accuracy_automated_responses", "customer_effort_score"] as const) {
        const xs = covered.map((c) => scoreOf(c, kpi))
        const s = r.summary.kpis[kpi]!
        const bin = METRICS[metricIndex(kpi)]!.binWidth
        assert.strictEqual(s.n, xs.length)
        assert.closeTo(s.mean!, avg(xs), 1e-9, kpi)
        assert.closeTo(s.std_error!, Math.sqrt(sd2(xs) / xs.length), 1e-9, kpi)
        assert.closeTo(s.median!, quantile(xs, 0.5), bin, kpi)
        assert.closeTo(s.p10!, quantile(xs, 0.1), bin, kpi)
        assert.closeTo(s.p90!, quantile(xs, 0.9), bin, kpi)
        assert.strictEqual(s.min, Math.min(...xs))
        assert.strictEqual(s.max, Math.max(...xs))
      }
      const resolved = covered.map((c) => scoreOf(c, "resolution_completeness"))
      assert.closeTo(r.summary.kpis.resolution_completeness!.rate!, resolved.filter((x) => x === 1).length / resolved.length, 1e-12)
      assert.closeTo(r.summary.kpis.followup_necessity!.rate!, 0, 1e-12)
      assert.strictEqual(Object.keys(r.summary.kpis).length, 14)
      assert.strictEqual(Object.keys(r.summary.subfactors).length, 12)
      assert.strictEqual(r.summary.subfactors["empathy_subfactors.personalization"]!.mean, 8)
      // every conversation in the distributions
      for (const m of KPI_METRICS) assert.strictEqual(r.distributions[m.name]!.reduce((n, b) => n + b.count, 0), covered.length, m.name)
    }))

  it.effect("trend: per ISO week; the fall in CSAT and in resolutions is marked, the shuffled accuracy is not", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs)
      const [w10, w11] = r.trend.periods
      assert.deepStrictEqual(r.trend.periods.map((p) => [p.period, p.start, p.end]), [["2024-W10", "2024-03-04", "2024-03-11"], ["2024-W11", "2024-03-11", "2024-03-18"]])
      const week2 = covered.filter((c) => c.at >= "2024-03-11")
      const csat2 = week2.map((c) => scoreOf(c, "csat_resolution"))
      assert.strictEqual(w10!.n, 10)
      assert.strictEqual(w11!.n, week2.length)
      assert.closeTo(w10!.kpis.csat_resolution!.mean!, avg(WEEK1.csat), 1e-9)
      assert.closeTo(w11!.kpis.csat_resolution!.mean!, avg(csat2), 1e-9)
      assert.closeTo(w11!.kpis.csat_resolution!.change!, avg(csat2) - avg(WEEK1.csat), 1e-9)
      assert.isTrue(welchSignificant(csat2, WEEK1.csat))
      assert.isTrue(w11!.kpis.csat_resolution!.significant)
      assert.isTrue(w11!.kpis.resolution_completeness!.significant)
      const acc2 = week2.map((c) => scoreOf(c, "accuracy_automated_responses"))
      assert.isFalse(welchSignificant(acc2, WEEK1.accuracy))
      assert.isFalse(w11!.kpis.accuracy_automated_responses!.significant)
      // nothing before the first period to compare with
      assert.isNull(w10!.kpis.csat_resolution!.change)
      assert.isFalse(w10!.kpis.csat_resolution!.significant)
      // a constant KPI does not move
      assert.isFalse(w11!.kpis.conversation_flow!.significant)
      assert.strictEqual(w11!.kpis.conversation_flow!.change, 0)
    }))

  it.effect("breakdown by agent: a result without agent_ids counts under the handle read from its source", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs)
      assert.strictEqual(r.coverage.agent_handles_from_sources, 2)
      const groups = new Map(r.breakdown.groups.map((g) => [g.group, g]))
      assert.deepStrictEqual([...groups.keys()].sort(), ["BrandA", "BrandB", "BrandC"])
      for (const brand of ["BrandA", "BrandB", "BrandC"]) {
        const mine = covered.filter((c) => c.agent === brand)
        assert.strictEqual(groups.get(brand)!.n, mine.length, brand)
        assert.closeTo(groups.get(brand)!.kpis.csat_resolution!.mean!, avg(mine.map((c) => scoreOf(c, "csat_resolution"))), 1e-9, brand)
      }
      // BrandC: two conversations at CSAT 1.0, far below the rest, but too few to be judged
      assert.isTrue(groups.get("BrandC")!.small)
      assert.deepStrictEqual(groups.get("BrandC")!.worse_kpis, [])
      assert.strictEqual(r.breakdown.groups.at(-1)!.group, "BrandC")
      assert.strictEqual(r.breakdown.min_group_size, MIN_GROUP_SIZE)
      // the rest sorted by CSAT, lowest first
      const big = r.breakdown.groups.filter((g) => !g.small).map((g) => g.kpis.csat_resolution!.mean!)
      assert.deepStrictEqual(big, [...big].sort((a, b) => a - b))
    }))

  it.effect("breakdown by topic: the week of refunds is significantly worse in CSAT than the rest; the better group is not marked", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, { dimension: "topic" })
      const refunds = r.breakdown.groups.find((g) => g.group === "Refunds")!
      const shipping = r.breakdown.groups.find((g) => g.group === "Shipping")!
      const csat = (topic: string) => covered.filter((c) => (c.topic ?? "Shipping") === topic).map((c) => scoreOf(c, "csat_resolution"))
      assert.isTrue(welchSignificant(csat("Refunds"), csat("Shipping")))
      assert.include(refunds.worse_kpis, "csat_resolution")
      assert.include(refunds.worse_kpis, "customer_effort_score")
      assert.closeTo(refunds.kpis.csat_resolution!.difference!, avg(csat("Refunds")) - avg(csat("Shipping")), 1e-9)
      assert.deepStrictEqual(shipping.worse_kpis, [])
      assert.strictEqual(r.breakdown.reference, "other_groups")
    }))

  it.effect("--by model: each model's own figures side by side, compared with the report's model", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, { dimension: "model" })
      assert.deepStrictEqual(r.breakdown.groups.map((g) => [g.group, g.n]).sort(), [["model-a", covered.length], ["model-b", 1]])
      assert.strictEqual(r.breakdown.reference, "report_model")
      const a = r.breakdown.groups.find((g) => g.group === "model-a")!
      assert.strictEqual(a.kpis.csat_resolution!.difference, 0)
      // the summary still covers model-a alone
      assert.strictEqual(r.summary.kpis.csat_resolution!.n, covered.length)
    }))

  it.effect("--model-used chooses the model; its window defaults to 12 weeks up to its newest conversation", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, { modelUsed: "model-b", since: undefined, until: undefined })
      assert.strictEqual(r.query.model_used, "model-b")
      assert.strictEqual(r.query.model_chosen_by, "flag")
      assert.deepStrictEqual([r.query.since, r.query.until], ["2023-12-18", "2024-03-11"])
      assert.strictEqual(r.coverage.analyzed, 1)
      assert.strictEqual(r.summary.kpis.csat_resolution!.mean, fixedScores.csat_resolution)
    }))

  it.effect("without dates: the 12 weeks ending with the week of the newest conversation, by default model", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, { since: undefined, until: undefined })
      // newest model-a conversation: 2024-03-18 (a Monday) → its week ends 2024-03-25
      assert.deepStrictEqual([r.query.since, r.query.until], ["2024-01-01", "2024-03-25"])
      assert.strictEqual(r.trend.periods.length, 12)
      assert.strictEqual(r.coverage.analyzed, convs.filter(modelA).length)
    }))

  it.effect("conversations to review: lowest CSAT, and unresolved by effort, with the customer's last message", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, { top: 3 })
      const lowest = [...covered].sort((a, b) =>
        scoreOf(a, "csat_resolution") - scoreOf(b, "csat_resolution") || scoreOf(b, "customer_effort_score") - scoreOf(a, "customer_effort_score")
      ).slice(0, 3)
      assert.deepStrictEqual(r.review.lowest_csat.map((x) => x.source_object_id), lowest.map((c) => idAt(c.at, c.i)))
      const first = r.review.lowest_csat[0]!
      assert.deepStrictEqual([first.agent, first.csat_resolution, first.last_customer_message, first.conversation_id], [
        "BrandC",
        1,
        customerLast(25),
        `conv_${idAt("2024-03-15T12:00:00Z", 25)}`
      ])
      const unresolved = covered.filter((c) => scoreOf(c, "resolution_completeness") === 0)
        .sort((a, b) => scoreOf(b, "customer_effort_score") - scoreOf(a, "customer_effort_score") || scoreOf(a, "csat_resolution") - scoreOf(b, "csat_resolution"))
        .slice(0, 3)
      assert.deepStrictEqual(r.review.unresolved_high_effort.map((x) => x.source_object_id), unresolved.map((c) => idAt(c.at, c.i)))
      assert.isTrue(r.review.unresolved_high_effort.every((x) => x.resolution_completeness === 0))
    }))

  it.effect("dead letters: counts by tag, the oldest open first, and the commands that retry them", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs)
      assert.strictEqual(r.dead_letters.open, 2)
      assert.deepStrictEqual(r.dead_letters.oldest_open.map((d) => d.tag), ["InvalidSourceDocument", "AnalyzerError"])
      assert.deepStrictEqual(r.dead_letters.retry_commands, [
        "cpa dead-letters retry --error AnalyzerError",
        "cpa dead-letters retry --error InvalidSourceDocument",
        "cpa dead-letters retry --all"
      ])
    }))

  it.effect("an empty window: zeros and nulls, no groups, no periods with data, every format renders", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, { since: new Date("2025-01-06T00:00:00Z"), until: new Date("2025-01-20T00:00:00Z") })
      assert.strictEqual(r.coverage.analyzed, 0)
      assert.isNull(r.coverage.first_conversation)
      assert.deepStrictEqual(r.summary.kpis.csat_resolution, { n: 0, mean: null, std_error: null, median: null, p10: null, p90: null, min: null, max: null })
      assert.deepStrictEqual(r.trend.periods.map((p) => p.n), [0, 0])
      assert.deepStrictEqual(r.breakdown.groups, [])
      assert.deepStrictEqual(r.review.lowest_csat, [])
      assert.deepStrictEqual(r.distributions.csat_resolution, [])
      assert.include(formatReportText(r), "No results of model-a in this window")
      assert.deepStrictEqual(formatReportCsv(r).trimEnd().split("\r\n"), [CSV_COLUMNS.join(",")])
      assert.strictEqual(JSON.parse(formatReportJson(r)).coverage.analyzed, 0)
    }))

  it.effect("an empty store: no model, today's 12 weeks, nothing to show", () =>
    Effect.gen(function*() {
      const r = yield* reportOf([], { since: undefined, until: undefined })
      assert.isNull(r.query.model_used)
      assert.strictEqual(r.trend.periods.length, 12)
      assert.include(formatReportText(r), "Model: none")
    }))

  it.effect("a window with one conversation: its values, no standard error, no judgement", () =>
    Effect.gen(function*() {
      const one: Conv = { i: 1, at: "2024-03-05T10:00:00Z", agent: "BrandA", scores: { csat_resolution: 3.7, resolution_completeness: 0 } }
      const r = yield* reportOf([one])
      const s = r.summary.kpis.csat_resolution!
      assert.deepStrictEqual([s.n, s.mean, s.std_error, s.median, s.p10, s.min], [1, 3.7, null, 3.7, 3.7, 3.7])
      assert.strictEqual(r.summary.kpis.resolution_completeness!.rate, 0)
      assert.deepStrictEqual(r.trend.periods.map((p) => p.n), [1, 0])
      assert.isFalse(r.trend.periods[1]!.kpis.csat_resolution!.significant)
      assert.deepStrictEqual(r.breakdown.groups.map((g) => [g.group, g.n, g.small, g.worse_kpis.length]), [["BrandA", 1, true, 0]])
      assert.strictEqual(r.review.lowest_csat.length, 1)
      assert.strictEqual(r.review.unresolved_high_effort.length, 1)
    }))

  it.effect("results without agent_ids and without their source document count under (none)", () =>
    Effect.gen(function*() {
      const r = yield* reportOf(convs, {}, { dropSources: [3] })
      const none = r.breakdown.groups.find((g) => g.group === "(none)")!
      assert.strictEqual(none.n, 1)
      assert.strictEqual(r.coverage.agent_handles_from_sources, 1)
    }))

  it.effect("one pass: the results are scanned once, and old results' sources read in bulk, not one by one", () =>
    Effect.gen(function*() {
      const { w } = yield* world(convs)
      const memory = makeMemoryConversationStore(w.store)
      let scans = 0
      const reads: Array<number> = []
      const spy = ConversationStore.of({
        ...memory,
        scanResults: (window) => Stream.suspend(() => (scans++, memory.scanResults(window))),
        readByIds: (ids) => Stream.suspend(() => (reads.push(ids.length), memory.readByIds(ids)))
      })
      yield* buildReport(options()).pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(ConversationStore, spy), MemoryJobStateStore.layer(w.states), testSettings()))
      )
      assert.strictEqual(scans, 1)
      // one read for the two old results (they arrive in one chunk), one for the review lists
      assert.deepStrictEqual(reads.slice(0, 1), [2])
      assert.strictEqual(reads.length, 2)
    }))
})

describe("cpa report: why", () => {
  it.effect("conversations to review show the stored rationale of each (the heuristic's, on the demo data)", () =>
    Effect.gen(function*() {
      const { layer, world } = yield* demoWorld()
      const report = yield* buildReport(DEFAULT_REPORT_OPTIONS).pipe(Effect.provide(layer))
      const items = [...report.review.lowest_csat, ...report.review.unresolved_high_effort]
      assert.isAbove(items.length, 0)
      for (const i of items) {
        assert.deepStrictEqual(i.rationale, world.store.results.get(i.source_object_id)?.analysis_rationale ?? null)
        assert.isNotNull(i.rationale, i.source_object_id)
      }
      const text = formatReportText(report)
      const first = items[0]!
      assert.include(text, `      why: ${first.rationale!.efficiency_resolution.reason.slice(0, 40)}`)
      for (const line of text.split("\n")) assert.isAtMost(line.length, TEXT_WIDTH, line)
      // A result stored without a rationale shows none, and nothing breaks.
      const { analysis_rationale: _, ...bare } = world.store.results.get(first.source_object_id)!
      world.store.results.set(first.source_object_id, bare)
      const again = yield* buildReport(DEFAULT_REPORT_OPTIONS).pipe(Effect.provide(layer))
      const same = [...again.review.lowest_csat, ...again.review.unresolved_high_effort].find((i) => i.source_object_id === first.source_object_id)
      assert.isNull(same?.rationale)
    }))
})

describe("cpa report: the formats", () => {
  const convs = twoWeeks()
  const report = (patch: Partial<ReportOptions> = {}) => reportOf(convs, patch)

  it.effect("text: every section, every line within 100 columns, marks where the figures say so", () =>
    Effect.gen(function*() {
      for (const dimension of ["agent", "topic", "model"] as const) {
        const text = formatReportText(yield* report({ dimension }))
        const long = text.split("\n").filter((l) => [...l].length > TEXT_WIDTH)
        assert.deepStrictEqual(long, [], `${dimension}: ${long.join("\n")}`)
        for (const heading of ["PERFORMANCE REPORT", "COVERAGE", "KPI SUMMARY", "TREND by week", `BREAKDOWN by ${dimension}`, "CONVERSATIONS TO REVIEW", "DEAD LETTERS"]) {
          assert.include(text, heading)
        }
      }
      const text = formatReportText(yield* report({ dimension: "topic" }))
      assert.match(text, /2024-W11 +12 +33\.3%▼/)
      assert.match(text, /Refunds +12 .*!/)
      assert.include(text, "cpa dead-letters retry --error AnalyzerError")
    }))

  it.effect("json: the report object with its query, stable field names, numbers rounded to 6 decimals", () =>
    Effect.gen(function*() {
      const r = yield* report()
      const json = JSON.parse(formatReportJson(r)) as Report
      assert.deepStrictEqual(Object.keys(json), [
        "report_version",
        "generated_at",
        "query",
        "analysis_versions",
        "coverage",
        "summary",
        "distributions",
        "trend",
        "breakdown",
        "cells",
        "review",
        "dead_letters"
      ])
      assert.deepStrictEqual(json.query, r.query)
      assert.closeTo(json.summary.kpis.csat_resolution!.mean!, r.summary.kpis.csat_resolution!.mean!, 1e-6)
      assert.deepStrictEqual(Object.keys(json.trend.periods[0]!.kpis), KPI_METRICS.map((m) => m.name))
    }))

  it.effect("csv: one row per period × group × KPI, the trend as group (all)", () =>
    Effect.gen(function*() {
      const r = yield* report()
      const lines = formatReportCsv(r).trimEnd().split("\r\n")
      assert.strictEqual(lines[0], CSV_COLUMNS.join(","))
      const rows = lines.slice(1).map((l) => l.split(","))
      const withData = r.trend.periods.filter((p) => p.n > 0).length
      assert.strictEqual(rows.length, 14 * (withData + r.cells.length))
      assert.strictEqual(rows.filter((x) => x[4] === ALL_GROUPS).length, 14 * withData)
      const brandA = rows.find((x) => x[0] === "2024-W10" && x[4] === "BrandA" && x[7] === "csat_resolution")!
      const expected = twoWeeks().filter((c) => inWindow(c) && modelA(c) && c.agent === "BrandA" && c.at < "2024-03-11")
      assert.strictEqual(Number(brandA[8]), expected.length)
      assert.closeTo(Number(brandA[9]), avg(expected.map((c) => scoreOf(c, "csat_resolution"))), 1e-6)
      assert.deepStrictEqual(brandA.slice(1, 7), ["2024-03-04", "2024-03-11", "agent", "BrandA", "model-a", "efficiency_resolution"])
    }))
})

describe("cpa report: the flags", () => {
  const input = { since: undefined, until: undefined, period: "week", by: "agent", modelUsed: undefined, format: "text", top: 10 }
  it.each([
    [{ by: "team" }, "--by"],
    [{ format: "xml" }, "--format"],
    [{ period: "year" }, "--period"],
    [{ since: "2024-02-30" }, "--since"],
    [{ until: "soon" }, "--until"],
    [{ since: "2024-03-01", until: "2024-03-01" }, "--since"],
    [{ since: "2024-03-02", until: "2024-03-01" }, "--since"],
    [{ top: -1 }, "--top"],
    [{ top: 5000 }, "--top"],
    [{ since: "2000-01-01", until: "2024-01-01", period: "day" }, "--period"]
  ])("%j is refused, naming %s", (patch, flag) => {
    const r = parseReportInput({ ...input, ...patch })
    assert.isTrue(r._tag === "Failure")
    if (r._tag === "Failure") assert.isTrue(r.failure.startsWith(flag), r.failure)
  })

  it("good flags parse into options", () => {
    const r = parseReportInput({ ...input, since: "2024-01-01", until: "2024-04-01", period: "month", by: "model", format: "csv", top: 0 })
    assert.isTrue(r._tag === "Success")
    if (r._tag === "Success") {
      assert.deepStrictEqual(r.success, {
        since: new Date("2024-01-01T00:00:00Z"),
        until: new Date("2024-04-01T00:00:00Z"),
        period: "month",
        dimension: "model",
        modelUsed: undefined,
        top: 0,
        format: "csv"
      })
    }
  })
})
