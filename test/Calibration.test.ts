import { Effect, Result } from "effect"
import { assert, describe, it } from "vitest"
import { calibrationReport, KPI_SCALES, kpiValue, MIN_VERDICT_CONVERSATIONS, toWholePoint } from "../src/domain/Calibration.ts"
import { type GradeRow, parseCsv, parseGrades } from "../src/domain/Grades.ts"
import type { KpiName } from "../src/domain/Kpi.ts"
import { type AgenticAnalysis, buildResult } from "../src/domain/Result.ts"
import { decodeConversation } from "../src/domain/Source.ts"
import { chooseModelUsed } from "../src/programs/ModelChoice.ts"
import { compareRuns, sampleIds } from "../src/programs/Retest.ts"
import { conversationDoc, fixedScores, oid } from "./support/fixtures.ts"

const weights = {
  empathy: { emotion_recognition: 0.2, acknowledgment_feelings: 0.2, appropriate_response: 0.15, personalization: 0.15, supportive_language: 0.15, active_listening: 0.15 },
  clarity: { readability_level: 0.2, jargon_usage: 0.15, sentence_structure: 0.15, coherence: 0.2, active_voice: 0.15, conciseness: 0.15 }
}

const CATEGORY: Record<string, "accuracy_compliance" | "empathy_communication" | "efficiency_resolution"> = {
  resolution_completeness: "accuracy_compliance",
  csat_resolution: "efficiency_resolution",
  followup_necessity: "efficiency_resolution",
  escalation_rate: "efficiency_resolution",
  empathy_score: "empathy_communication"
}

/** The result of conversation `i` by `model`, with the given KPI values. */
const result = (i: number, values: Partial<Record<KpiName, number>>, model = "model-a"): AgenticAnalysis => {
  const c = Effect.runSync(decodeConversation({ id: oid(i), doc: conversationDoc(i) }))
  const base = buildResult(c, fixedScores, weights, { model, usage: undefined, costUsd: undefined, processedAt: new Date("2024-05-01T10:00:00Z"), jobName: "t" })
  const metrics = structuredClone(base.performance_metrics) as any
  for (const [k, v] of Object.entries(values)) metrics[CATEGORY[k]!][k] = v
  return { ...base, performance_metrics: metrics }
}

const row = (i: number, grader: string, values: Partial<Record<KpiName, number>>): GradeRow => ({ sourceId: oid(i), grader, line: i + 2, values })

describe("grades files", () => {
  const header = "source_object_id,grader,resolution_completeness,csat_resolution"
  const id = oid(1)

  it("reads CSV (quotes, CRLF, a byte-order mark, blank cells) and JSON lines alike", () => {
    const csv = `\uFEFF${header}\r\n${id},"Ana, QA",1,4.5\r\n${id.toUpperCase()},bo,,3\r\n\r\n`
    const rows = Result.getOrThrow(parseGrades(csv, "csv"))
    assert.deepStrictEqual(rows, [
      { sourceId: id, grader: "Ana, QA", line: 2, values: { resolution_completeness: 1, csat_resolution: 4.5 } },
      { sourceId: id, grader: "bo", line: 3, values: { csat_resolution: 3 } }
    ])
    const jsonl = `{"source_object_id":"${id}","grader":"Ana, QA","resolution_completeness":1,"csat_resolution":4.5}\n\n{"source_object_id":"${id}","grader":"bo","csat_resolution":3,"resolution_completeness":null}\n`
    assert.deepStrictEqual(Result.getOrThrow(parseGrades(jsonl, "jsonl")).map((r) => [r.grader, r.values]), rows.map((r) => [r.grader, r.values]))
    assert.deepStrictEqual(Result.getOrThrow(parseCsv("a,\"b\"\"c\",\"d\ne\"\n")).map((r) => r.fields), [["a", "b\"c", "d\ne"]])
  })

  it.each([
    [`${header},empathy\n${id},a,1,4\n`, "csv", "line 1: unknown column \"empathy\": expected source_object_id, grader or a KPI name"],
    [`grader,csat_resolution\na,4\n`, "csv", "line 1: the header has no source_object_id column"],
    [`${header}\n${id},a,1\n`, "csv", "line 2: 3 fields, but the header has 4"],
    [`${header}\n${id},a,0.5,4\n`, "csv", "line 2: resolution_completeness: 0.5 is outside its scale (0 or 1)"],
    [`${header}\n${id},a,1,6\n`, "csv", "line 2: csat_resolution: 6 is outside its scale (1 to 5)"],
    [`${header}\n${id},a,1,good\n`, "csv", "line 2: csat_resolution: expected a number, got \"good\""],
    [`${header}\nnot-an-id,a,1,4\n`, "csv", "line 2: source_object_id: expected 24 hex digits, got \"not-an-id\""],
    [`${header}\n${id},a,1,4\n${id},a,0,2\n`, "csv", `line 3: a second row for ${id} by a (first on line 2)`],
    [`${header}\n`, "csv", "the file has no grades"],
    [`${header}\n${id},"a,1,4\n`, "csv", "line 2: a quoted field is not closed"],
    [`{"source_object_id":"${id}","nps":9}\n`, "jsonl", "line 1: unknown column \"nps\""],
    [`{"source_object_id":"${id}"\n`, "jsonl", "line 1: not valid JSON"],
    [`[1,2]\n`, "jsonl", "line 1: expected a JSON object"]
  ] as const)("rejects %j with one line", (text, format, message) => {
    const r = parseGrades(text, format)
    assert.isTrue(Result.isFailure(r))
    const failure = Result.isFailure(r) ? r.failure : ""
    assert.include(failure, message)
    assert.notInclude(failure, "\n")
  })
})

describe("calibration on constructed grades", () => {
  it("classifies the scales: 0/1 binary, 1-5/1-7/0-10/1-10 ordinal, percentages and signed scales continuous", () => {
    assert.strictEqual(KPI_SCALES.resolution_completeness, "binary")
    assert.strictEqual(KPI_SCALES.csat_resolution, "ordinal")
    assert.strictEqual(KPI_SCALES.customer_effort_score, "ordinal")
    assert.strictEqual(KPI_SCALES.empathy_score, "ordinal")
    assert.strictEqual(KPI_SCALES.clarity_language, "ordinal")
    assert.strictEqual(KPI_SCALES.sentiment_shift, "continuous")
    assert.strictEqual(KPI_SCALES.escalation_rate, "continuous")
    assert.strictEqual(toWholePoint(4.5, { min: 1, max: 5, integer: false }), 5)
    assert.strictEqual(toWholePoint(0.2, { min: 1, max: 5, integer: false }), 1)
  })

  it("a model that matches the grader exactly: kappa 1, weighted kappa 1, rho 1, MAE 0, accuracy 1", () => {
    const rows = Array.from({ length: 12 }, (_, i) => row(i, "a", { resolution_completeness: i % 2, csat_resolution: 1 + (i % 5) }))
    const results = Array.from({ length: 12 }, (_, i) => result(i, { resolution_completeness: i % 2, csat_resolution: 1 + (i % 5) }))
    const report = calibrationReport(rows, results, "model-a", { resamples: 200, seed: 1, level: 0.95 })
    const [resolution, csat] = report.kpis
    assert.deepStrictEqual(report.kpis.map((k) => k.kpi), ["resolution_completeness", "csat_resolution"], "only the KPIs graded")
    assert.strictEqual(resolution!.modelVsGraders!.kappa!.value, 1)
    assert.strictEqual(resolution!.modelVsGraders!.accuracy!.value, 1)
    assert.strictEqual(csat!.modelVsGraders!.kappa!.value, 1)
    assert.strictEqual(csat!.modelVsGraders!.mae.value, 0)
    assert.closeTo(csat!.modelVsGraders!.spearman.value!, 1, 1e-12)
    assert.deepStrictEqual(csat!.modelVsGraders!.kappa!.ci, { low: 1, high: 1 })
    assert.isNull(csat!.betweenGraders, "one grader: no inter-grader figures")
    assert.strictEqual(csat!.verdict.verdict, "not enough data")
  })

  it("a binary KPI with a known 2x2 table: 20 agree on 1, 15 on 0, 5 + 10 disagree: kappa 0.4, accuracy 0.7", () => {
    const table: Array<readonly [number, number]> = [
      ...Array.from({ length: 20 }, () => [1, 1] as const),
      ...Array.from({ length: 5 }, () => [1, 0] as const),
      ...Array.from({ length: 10 }, () => [0, 1] as const),
      ...Array.from({ length: 15 }, () => [0, 0] as const)
    ]
    const rows = table.map(([grade], i) => row(i, "a", { resolution_completeness: grade }))
    const results = table.map(([, model], i) => result(i, { resolution_completeness: model }))
    const k = calibrationReport(rows, results, "model-a", { resamples: 200, seed: 1, level: 0.95 }).kpis[0]!
    assert.closeTo(k.modelVsGraders!.kappa!.value!, 0.4, 1e-12)
    assert.closeTo(k.modelVsGraders!.accuracy!.value!, 0.7, 1e-12)
    assert.closeTo(k.modelVsGraders!.mae.value!, 0.3, 1e-12)
    assert.isBelow(k.modelVsGraders!.kappa!.ci!.low, 0.4)
    assert.isAbove(k.modelVsGraders!.kappa!.ci!.high, 0.4)
  })

  it("rounds both sides to whole points for weighted kappa, not for MAE", () => {
    const rows = [row(0, "a", { csat_resolution: 4.4 }), row(1, "a", { csat_resolution: 2 }), row(2, "a", { csat_resolution: 1 })]
    const results = [result(0, { csat_resolution: 3.6 }), result(1, { csat_resolution: 2.4 }), result(2, { csat_resolution: 1 })]
    const k = calibrationReport(rows, results, "model-a", { resamples: 50, seed: 1, level: 0.95 }).kpis[0]!
    assert.strictEqual(k.modelVsGraders!.kappa!.value, 1, "4.4 and 3.6 are both 4; 2 and 2.4 are both 2")
    assert.closeTo(k.modelVsGraders!.mae.value!, (0.8 + 0.4 + 0) / 3, 1e-12)
  })

  it("verdict: agrees like a grader when the model is as close to the graders as they are to each other; below when it is not", () => {
    const n = MIN_VERDICT_CONVERSATIONS + 10
    const grade = (i: number) => 1 + (i % 5)
    const rows = Array.from({ length: n }, (_, i) => [
      row(i, "a", { csat_resolution: grade(i), resolution_completeness: i % 2 }),
      row(i, "b", { csat_resolution: grade(i), resolution_completeness: i % 2 })
    ]).flat()
    const alike = Array.from({ length: n }, (_, i) => result(i, { csat_resolution: grade(i), resolution_completeness: i % 2 }))
    const good = calibrationReport(rows, alike, "model-a", { resamples: 300, seed: 1, level: 0.95 })
    assert.deepStrictEqual(good.kpis.map((k) => k.verdict.verdict), ["agrees like a grader", "agrees like a grader"])
    assert.strictEqual(good.kpis[1]!.betweenGraders!.kappa!.value, 1)
    assert.strictEqual(good.kpis[1]!.verdict.conversations, n)

    const opposite = Array.from({ length: n }, (_, i) => result(i, { csat_resolution: 6 - grade(i), resolution_completeness: 1 - (i % 2) }))
    const bad = calibrationReport(rows, opposite, "model-a", { resamples: 300, seed: 1, level: 0.95 })
    assert.deepStrictEqual(bad.kpis.map((k) => k.verdict.verdict), ["below", "below"])
    assert.isBelow(bad.kpis[0]!.verdict.difference!.ci!.high, 0)

    const few = calibrationReport(rows.filter((r) => Number.parseInt(r.sourceId.slice(-4), 16) < MIN_VERDICT_CONVERSATIONS - 1), alike, "model-a")
    assert.strictEqual(few.kpis[0]!.verdict.verdict, "not enough data")
  })

  it("uses MAE for a percentage KPI's verdict: lower is better", () => {
    const n = MIN_VERDICT_CONVERSATIONS
    const rows = Array.from({ length: n }, (_, i) => [row(i, "a", { escalation_rate: 10 * (i % 10) }), row(i, "b", { escalation_rate: 10 * (i % 10) + 5 })]).flat()
    const close = Array.from({ length: n }, (_, i) => result(i, { escalation_rate: 10 * (i % 10) + 2.5 }))
    const far = Array.from({ length: n }, (_, i) => result(i, { escalation_rate: 100 - 10 * (i % 10) }))
    const k = calibrationReport(rows, close, "model-a", { resamples: 300, seed: 1, level: 0.95 }).kpis[0]!
    assert.strictEqual(k.verdict.statistic, "MAE")
    assert.strictEqual(k.verdict.verdict, "agrees like a grader")
    assert.closeTo(k.modelVsGraders!.mae.value!, 2.5, 1e-12)
    assert.closeTo(k.betweenGraders!.mae.value!, 5, 1e-12)
    assert.isNull(k.modelVsGraders!.kappa, "no kappa for a percentage")
    assert.strictEqual(calibrationReport(rows, far, "model-a", { resamples: 300, seed: 1, level: 0.95 }).kpis[0]!.verdict.verdict, "below")
  })

  it("lists graded ids without a result of the model, and those scored by another model, without failing", () => {
    const rows = [row(1, "a", { csat_resolution: 3 }), row(2, "a", { csat_resolution: 3 }), row(3, "a", { csat_resolution: 3 })]
    const report = calibrationReport(rows, [result(1, { csat_resolution: 3 }), result(2, { csat_resolution: 3 }, "model-b")], "model-a")
    assert.strictEqual(report.compared, 1)
    assert.deepStrictEqual(report.missing, [oid(2), oid(3)])
    assert.deepStrictEqual(report.otherModel, [oid(2)])
    assert.strictEqual(report.kpis[0]!.modelVsGraders!.pairs, 1)
  })
})

describe("model choice and retest arithmetic", () => {
  const models = [
    { model: "claude-sonnet-4-6", results: 10, latest: "2026-11-02T00:00:00Z" },
    { model: "heuristic-1.0.0", results: 200, latest: "2026-10-01T00:00:00Z" }
  ]

  it("takes the most recent model_used by default, the one named otherwise, and names the choices when it is unknown", () => {
    assert.strictEqual(Result.getOrThrow(chooseModelUsed(models, undefined)).chosen.model, "claude-sonnet-4-6")
    assert.strictEqual(Result.getOrThrow(chooseModelUsed(models, "heuristic-1.0.0")).named, true)
    const unknown = chooseModelUsed(models, "gpt")
    assert.isTrue(Result.isFailure(unknown) && unknown.failure._tag === "ConfigError" &&
      unknown.failure.message.includes("the stored results are of claude-sonnet-4-6 (10), heuristic-1.0.0 (200)"))
    const none = chooseModelUsed([], undefined)
    assert.isTrue(Result.isFailure(none) && none.failure._tag === "RunFatal")
  })

  it("samples the same ids for the same seed, without repeats, and all of them when asked for more", () => {
    const ids = Array.from({ length: 50 }, (_, i) => oid(i))
    const a = sampleIds(ids, 10, 7)
    assert.deepStrictEqual(a, sampleIds(ids, 10, 7))
    assert.strictEqual(new Set(a).size, 10)
    assert.notDeepEqual(a, sampleIds(ids, 10, 8))
    assert.deepStrictEqual(sampleIds(ids, 80, 1), ids)
  })

  it("compares two runs: mean absolute difference per KPI, binary flips", () => {
    const pairs = [
      { stored: result(1, { csat_resolution: 4, resolution_completeness: 1 }), again: result(1, { csat_resolution: 3, resolution_completeness: 0 }) },
      { stored: result(2, { csat_resolution: 2, resolution_completeness: 0 }), again: result(2, { csat_resolution: 2, resolution_completeness: 0 }) }
    ]
    const byKpi = Object.fromEntries(compareRuns(pairs).map((k) => [k.kpi, k]))
    assert.strictEqual(byKpi.csat_resolution!.meanAbsoluteDifference, 0.5)
    assert.strictEqual(byKpi.csat_resolution!.identical, 0.5)
    assert.isNull(byKpi.csat_resolution!.flipped)
    assert.strictEqual(byKpi.resolution_completeness!.flipped, 0.5)
    assert.strictEqual(byKpi.escalation_rate!.meanAbsoluteDifference, 0)
    assert.strictEqual(kpiValue(pairs[0]!.stored, "csat_resolution"), 4)
  })
})
