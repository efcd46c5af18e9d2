import { Console, Effect } from "effect"
import {
  type Agreement,
  type CalibrationReport,
  calibrationReport,
  type Estimate,
  type KpiCalibration,
  MIN_VERDICT_CONVERSATIONS
} from "../domain/Calibration.ts"
import type { GradeRow } from "../domain/Grades.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { describeChoice, type ModelChoice, selectModelUsed } from "./ModelChoice.ts"
import { RULE } from "./Reports.ts"
import { storeOp } from "./StoreOp.ts"

export type OutputFormat = "text" | "json"

export const VERDICT_RULE =
  `On the conversations graded by two or more graders that also have a result (at least ${MIN_VERDICT_CONVERSATIONS}), ` +
  "the model 'agrees like a grader' when the 95 % bootstrap interval of (model-grader agreement minus grader-grader agreement) " +
  "reaches 0 or above, and is 'below' when it lies wholly below 0 (for MAE, where lower is better: reaches 0 or below / lies wholly above 0). " +
  "Agreement is Cohen's kappa for 0/1 KPIs, quadratic-weighted kappa for 1-5, 1-7, 0-10 and 1-10 scales, MAE for percentages and signed scales. " +
  `Fewer than ${MIN_VERDICT_CONVERSATIONS} such conversations: 'not enough data'.`

export const ROUNDING_NOTE = "Weighted kappa (and kappa, accuracy) compare whole scale points: both sides are rounded to the nearest whole point of the KPI's scale first; Spearman's rho and MAE use the values as they are."

const num = (v: number | null, digits = 2): string => (v === null ? "-" : v.toFixed(digits))
const est = (e: Estimate | null, digits = 2): string =>
  e === null ? "" : `${num(e.value, digits)}${e.ci === null ? "" : ` [${num(e.ci.low, digits)}, ${num(e.ci.high, digits)}]`}`

const scaleText = (k: KpiCalibration): string =>
  k.scale === "binary" ? "0/1" : `${k.range.min}..${k.range.max}`

const pad = (s: string, n: number): string => (s.length >= n ? `${s} ` : s.padEnd(n))

const table = (kpis: ReadonlyArray<KpiCalibration>, side: (k: KpiCalibration) => Agreement | null): Array<string> => {
  const rows = kpis.flatMap((k) => {
    const a = side(k)
    if (a === null) return []
    const kappa = a.kappa === null ? "" : `${k.scale === "binary" ? "k" : "wk"} ${est(a.kappa)}`
    return [[k.kpi, scaleText(k), String(a.conversations), String(a.pairs), est(a.spearman), est(a.mae), kappa, est(a.accuracy)]]
  })
  if (rows.length === 0) return ["  (no pairs)"]
  const header = ["KPI", "scale", "conv", "pairs", "Spearman rho [95% CI]", "MAE [95% CI]", "kappa / weighted kappa (wk) [95% CI]", "accuracy [95% CI]"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 1)
  return [header, ...rows].map((r) => `  ${r.map((c, i) => pad(c, widths[i]!)).join("")}`.trimEnd())
}

/** The text report of `cpa calibrate`. */
export const formatCalibration = (report: CalibrationReport, choice: ModelChoice, file: string): string => {
  const missing = report.missing.length === 0
    ? ["Graded conversations without a result of this model: 0"]
    : [
      `Graded conversations without a result of this model: ${report.missing.length}` +
      (report.otherModel.length > 0 ? ` (${report.otherModel.length} scored by another model)` : ""),
      ...report.missing.slice(0, 20).map((id) => `  ${id}${report.otherModel.includes(id) ? " (another model)" : ""}`),
      ...(report.missing.length > 20 ? [`  ... and ${report.missing.length - 20} more (--format json lists them all)`] : [])
    ]
  const graders = report.graders.filter((g) => g !== "")
  return [
    RULE,
    "CALIBRATION: stored results against human grades",
    RULE,
    `Model used: ${describeChoice(choice)}`,
    `Grades: ${file}: ${report.rows} rows, ${report.conversations} conversations, ${graders.length > 0 ? `graders ${graders.join(", ")}` : "no grader names"}`,
    `Compared: ${report.compared} conversations with a result of ${report.modelUsed}`,
    ...missing,
    `Intervals: 95 % percentile bootstrap over conversations, ${report.bootstrap.resamples} resamples, seed ${report.bootstrap.seed}.`,
    ROUNDING_NOTE,
    "",
    "Model against the graders (one pair per grade):",
    ...table(report.kpis, (k) => k.modelVsGraders),
    "",
    "Between graders (conversations with two or more grades; the ceiling the model is measured against):",
    ...table(report.kpis, (k) => k.betweenGraders),
    "",
    "Verdict:",
    ...report.kpis.map((k) => {
      const v = k.verdict
      const detail = v.verdict === "not enough data"
        ? `${v.conversations} conversations with 2+ grades and a result; needs ${MIN_VERDICT_CONVERSATIONS}`
        : `${v.statistic} difference ${est(v.difference)} on ${v.conversations} conversations`
      return `  ${pad(k.kpi, 31)}${pad(v.verdict, 21)}(${detail})`
    }),
    `Rule: ${VERDICT_RULE}`
  ].join("\n")
}

const jsonEstimate = (e: Estimate | null) => (e === null ? null : { value: e.value, ci95: e.ci === null ? null : [e.ci.low, e.ci.high] })
const jsonAgreement = (a: Agreement | null) =>
  a === null ? null : {
    conversations: a.conversations,
    pairs: a.pairs,
    spearman_rho: jsonEstimate(a.spearman),
    mae: jsonEstimate(a.mae),
    kappa: jsonEstimate(a.kappa),
    accuracy: jsonEstimate(a.accuracy)
  }

/** The `--format json` report: the same figures, every missing id. */
export const calibrationJson = (report: CalibrationReport, choice: ModelChoice, file: string) => ({
  model_used: report.modelUsed,
  model_choice: { named: choice.named, available: choice.available },
  grades: { file, rows: report.rows, conversations: report.conversations, graders: report.graders },
  compared: report.compared,
  missing: { count: report.missing.length, ids: report.missing, scored_by_another_model: report.otherModel },
  method: {
    intervals: `95 % percentile bootstrap over conversations, ${report.bootstrap.resamples} resamples`,
    seed: report.bootstrap.seed,
    rounding: ROUNDING_NOTE,
    verdict_rule: VERDICT_RULE,
    verdict_min_conversations: MIN_VERDICT_CONVERSATIONS
  },
  kpis: report.kpis.map((k) => ({
    kpi: k.kpi,
    scale: k.scale,
    range: [k.range.min, k.range.max],
    kappa_kind: k.scale === "binary" ? "cohen" : k.scale === "ordinal" ? "quadratic-weighted" : null,
    model_vs_graders: jsonAgreement(k.modelVsGraders),
    between_graders: jsonAgreement(k.betweenGraders),
    verdict: { verdict: k.verdict.verdict, statistic: k.verdict.statistic, conversations: k.verdict.conversations, difference: jsonEstimate(k.verdict.difference) }
  }))
})

/**
 * `cpa calibrate`: compares human grades with the stored results of one `model_used` (the most
 * recent unless `modelUsed` names one). Writes nothing.
 */
export const calibrate = Effect.fn("calibrate")(function*(options: {
  readonly file: string
  readonly rows: ReadonlyArray<GradeRow>
  readonly modelUsed: string | undefined
  readonly format: OutputFormat
}) {
  const store = yield* ConversationStore
  const choice = yield* selectModelUsed(options.modelUsed)
  const results = yield* storeOp(store.resultsByIds([...new Set(options.rows.map((r) => r.sourceId))]))
  const report = calibrationReport(options.rows, results, choice.chosen.model)
  if (report.missing.length > 0) {
    yield* Effect.logWarning(`${report.missing.length} graded conversation(s) have no result of ${report.modelUsed}; they are listed and left out`)
  }
  yield* Console.log(
    options.format === "json" ? JSON.stringify(calibrationJson(report, choice, options.file), null, 2) : formatCalibration(report, choice, options.file)
  )
  return report
})
