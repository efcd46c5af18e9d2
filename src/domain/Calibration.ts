import type { GradeRow } from "./Grades.ts"
import { KPI_RANGES } from "./Grades.ts"
import { KPI_CATEGORIES, KPI_NAMES, type KpiName, type Range } from "./Kpi.ts"
import type { AgenticAnalysis } from "./Result.ts"
import {
  bootstrap,
  type BootstrapOptions,
  cohenKappa,
  DEFAULT_BOOTSTRAP,
  exactAgreement,
  type Interval,
  meanAbsoluteError,
  type Pair,
  quadraticWeightedKappa,
  spearman
} from "./Statistics.ts"

/**
 * `cpa calibrate`'s figures: how the stored results of one model agree with human grades, how
 * the graders agree with each other, and a verdict per KPI. Pure.
 */

/** binary: 0/1; ordinal: a scale of whole points (1-5, 1-7, 0-10, 1-10); continuous: percentages and signed scales. */
export type Scale = "binary" | "ordinal" | "continuous"

const scaleOf = (r: Range): Scale =>
  r.integer ? "binary" : r.min >= 0 && Number.isInteger(r.min) && Number.isInteger(r.max) && r.max <= 10 && r.max - r.min >= 4 ? "ordinal" : "continuous"

export const KPI_SCALES: Readonly<Record<KpiName, Scale>> = Object.fromEntries(
  (KPI_NAMES as ReadonlyArray<KpiName>).map((k) => [k, scaleOf(KPI_RANGES[k])])
) as Record<KpiName, Scale>

const CATEGORY_OF: Readonly<Record<KpiName, keyof typeof KPI_CATEGORIES>> = Object.fromEntries(
  Object.entries(KPI_CATEGORIES).flatMap(([category, kpis]) => Object.keys(kpis).map((k) => [k, category]))
) as Record<KpiName, keyof typeof KPI_CATEGORIES>

/** A KPI's value in a stored result. */
export const kpiValue = (result: AgenticAnalysis, kpi: KpiName): number =>
  (result.performance_metrics[CATEGORY_OF[kpi]] as unknown as Record<string, number>)[kpi]!

/** Rounded to the scale's whole points (and kept inside it), as weighted κ needs. */
export const toWholePoint = (value: number, r: Range): number => Math.min(Math.floor(r.max), Math.max(Math.ceil(r.min), Math.round(value)))

/** Conversations with at least this many model–grader pairs in the common set get a verdict. */
export const MIN_VERDICT_CONVERSATIONS = 30

export interface Estimate {
  readonly value: number | null
  /** 95 % percentile bootstrap interval over conversations; null when it cannot be formed. */
  readonly ci: Interval | null
}

export interface Agreement {
  readonly conversations: number
  readonly pairs: number
  readonly spearman: Estimate
  readonly mae: Estimate
  /** Binary KPIs: Cohen's κ; ordinal KPIs: quadratic-weighted κ on whole points. */
  readonly kappa: Estimate | null
  /** Binary KPIs: share of equal pairs. */
  readonly accuracy: Estimate | null
}

export type VerdictKind = "agrees like a grader" | "below" | "not enough data"

export interface Verdict {
  readonly verdict: VerdictKind
  readonly statistic: "kappa" | "weighted kappa" | "MAE"
  /** Conversations with two or more grades and a result (the set the verdict compares on). */
  readonly conversations: number
  /** model–grader minus grader–grader agreement on that set (for MAE: model MAE minus graders' MAE). */
  readonly difference: Estimate | null
}

export interface KpiCalibration {
  readonly kpi: KpiName
  readonly scale: Scale
  readonly range: Range
  readonly modelVsGraders: Agreement | null
  readonly betweenGraders: Agreement | null
  readonly verdict: Verdict
}

export interface CalibrationReport {
  readonly modelUsed: string
  readonly rows: number
  readonly conversations: number
  readonly graders: ReadonlyArray<string>
  /** Graded conversations with a result of `modelUsed`. */
  readonly compared: number
  /** Graded conversations without a result of `modelUsed`, and those of them scored by another model. */
  readonly missing: ReadonlyArray<string>
  readonly otherModel: ReadonlyArray<string>
  readonly kpis: ReadonlyArray<KpiCalibration>
  readonly bootstrap: BootstrapOptions
}

/** One conversation's rating pairs for one KPI. */
interface Cluster {
  readonly model: ReadonlyArray<Pair>
  readonly graders: ReadonlyArray<Pair>
}

const flat = (clusters: ReadonlyArray<Cluster>, side: keyof Cluster): Array<Pair> => clusters.flatMap((c) => c[side])

const statistics = (kpi: KpiName) => {
  const r = KPI_RANGES[kpi]
  const scale = KPI_SCALES[kpi]
  const whole = (pairs: ReadonlyArray<Pair>): Array<Pair> => pairs.map(([a, b]) => [toWholePoint(a, r), toWholePoint(b, r)] as const)
  return {
    spearman,
    mae: meanAbsoluteError,
    kappa: scale === "binary"
      ? (pairs: ReadonlyArray<Pair>) => cohenKappa(whole(pairs))
      : scale === "ordinal"
      ? (pairs: ReadonlyArray<Pair>) => quadraticWeightedKappa(whole(pairs), Math.ceil(r.min), Math.floor(r.max))
      : undefined,
    accuracy: scale === "binary" ? (pairs: ReadonlyArray<Pair>) => exactAgreement(whole(pairs)) : undefined
  }
}

const agreement = (kpi: KpiName, clusters: ReadonlyArray<Cluster>, side: keyof Cluster, options: BootstrapOptions): Agreement | null => {
  const used = clusters.filter((c) => c[side].length > 0)
  if (used.length === 0) return null
  const pairs = flat(used, side)
  const s = statistics(kpi)
  const estimate = (f: (pairs: ReadonlyArray<Pair>) => number | null): Estimate => ({
    value: f(pairs),
    ci: bootstrap(used, (sample) => f(flat(sample, side)), options)
  })
  return {
    conversations: used.length,
    pairs: pairs.length,
    spearman: estimate(s.spearman),
    mae: estimate(s.mae),
    kappa: s.kappa === undefined ? null : estimate(s.kappa),
    accuracy: s.accuracy === undefined ? null : estimate(s.accuracy)
  }
}

const verdictOf = (kpi: KpiName, clusters: ReadonlyArray<Cluster>, options: BootstrapOptions): Verdict => {
  const scale = KPI_SCALES[kpi]
  const s = statistics(kpi)
  const statistic = scale === "binary" ? "kappa" : scale === "ordinal" ? "weighted kappa" : "MAE"
  const f = s.kappa ?? s.mae
  const common = clusters.filter((c) => c.model.length > 0 && c.graders.length > 0)
  if (common.length < MIN_VERDICT_CONVERSATIONS) return { verdict: "not enough data", statistic, conversations: common.length, difference: null }
  const difference = (sample: ReadonlyArray<Cluster>): number | null => {
    const m = f(flat(sample, "model"))
    const g = f(flat(sample, "graders"))
    return m === null || g === null ? null : m - g
  }
  const d: Estimate = { value: difference(common), ci: bootstrap(common, difference, options) }
  if (d.ci === null) return { verdict: "not enough data", statistic, conversations: common.length, difference: d }
  // Higher κ is better, lower MAE is better: "agrees" unless the whole interval says the model is worse.
  const below = statistic === "MAE" ? d.ci.low > 0 : d.ci.high < 0
  return { verdict: below ? "below" : "agrees like a grader", statistic, conversations: common.length, difference: d }
}

/**
 * Compares human grades with the stored results of `modelUsed`. `results` may hold results of
 * other models for the graded ids (they are reported as such, not compared). Each grade of a
 * conversation pairs with the model's value; each pair of grades of one conversation (graders in
 * name order) is a grader–grader pair. Intervals resample conversations.
 */
export const calibrationReport = (
  rows: ReadonlyArray<GradeRow>,
  results: ReadonlyArray<AgenticAnalysis>,
  modelUsed: string,
  options: BootstrapOptions = DEFAULT_BOOTSTRAP
): CalibrationReport => {
  const byId = new Map<string, Array<GradeRow>>()
  for (const row of rows) byId.set(row.sourceId, [...(byId.get(row.sourceId) ?? []), row])
  const resultOf = new Map(results.map((r) => [r.source_object_id, r]))
  const ids = [...byId.keys()].sort()
  const missing = ids.filter((id) => resultOf.get(id)?.analysis_metadata.model_used !== modelUsed)
  const otherModel = missing.filter((id) => resultOf.has(id))

  const kpis = (KPI_NAMES as ReadonlyArray<KpiName>).flatMap((kpi): Array<KpiCalibration> => {
    if (!rows.some((row) => row.values[kpi] !== undefined)) return []
    const clusters: Array<Cluster> = ids.map((id) => {
      const graded = byId.get(id)!
        .filter((row) => row.values[kpi] !== undefined)
        .sort((a, b) => (a.grader < b.grader ? -1 : a.grader > b.grader ? 1 : 0))
      const result = resultOf.get(id)
      const model = result !== undefined && result.analysis_metadata.model_used === modelUsed
        ? graded.map((row) => [row.values[kpi]!, kpiValue(result, kpi)] as const)
        : []
      const graders: Array<Pair> = []
      for (let i = 0; i < graded.length; i++) {
        for (let j = i + 1; j < graded.length; j++) graders.push([graded[i]!.values[kpi]!, graded[j]!.values[kpi]!])
      }
      return { model, graders }
    })
    return [{
      kpi,
      scale: KPI_SCALES[kpi],
      range: KPI_RANGES[kpi],
      modelVsGraders: agreement(kpi, clusters, "model", options),
      betweenGraders: agreement(kpi, clusters, "graders", options),
      verdict: verdictOf(kpi, clusters, options)
    }]
  })

  return {
    modelUsed,
    rows: rows.length,
    conversations: ids.length,
    graders: [...new Set(rows.map((r) => r.grader))].sort(),
    compared: ids.length - missing.length,
    missing,
    otherModel,
    kpis,
    bootstrap: options
  }
}
