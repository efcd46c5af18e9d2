import {
  type Category,
  CLARITY_SUBFACTOR_RANGE,
  CLARITY_SUBFACTORS,
  EMPATHY_SUBFACTOR_RANGE,
  EMPATHY_SUBFACTORS,
  KPI_CATEGORIES,
  type Range
} from "./Kpi.ts"

/**
 * The statistics of `cpa report`, pure and streaming: every figure is built from running sums
 * (n, Σx, Σx²) and fixed-bin histograms, which add up across rows, periods and groups, so a
 * report never needs more than one pass over the results nor keeps them in memory.
 */

// ---------------------------------------------------------------------------------------------
// The metrics: 14 KPIs and 12 sub-factors, in a fixed order

export interface Metric {
  /** The field name in its category: `csat_resolution`, or `empathy_subfactors.emotion_recognition`. */
  readonly name: string
  readonly kind: "kpi" | "subfactor"
  readonly category: Category
  /** Short column label for narrow tables. */
  readonly label: string
  readonly range: Range
  /** 0/1 KPIs, reported as rates. */
  readonly binary: boolean
  /** Which way is good: customer effort, follow-ups and escalations are better low. */
  readonly better: "higher" | "lower"
  /** Width of the fixed histogram bins: a whole number of them spans the range. */
  readonly binWidth: number
  /** Width of the distribution chart's bars: a whole number of histogram bins. */
  readonly displayWidth: number
}

const LABELS: Readonly<Record<string, string>> = {
  resolution_completeness: "resolved",
  accuracy_automated_responses: "accuracy",
  empathy_score: "empathy",
  sentiment_shift: "sent.shift",
  clarity_language: "clarity",
  cultural_sensitivity: "cultural",
  adaptability_quotient: "adaptab.",
  conversation_flow: "flow",
  followup_necessity: "follow-up",
  customer_effort_score: "effort",
  first_response_accuracy: "1st resp.",
  csat_resolution: "CSAT",
  escalation_rate: "escalation",
  customer_effort_reduction: "effort red."
}

const LOWER_IS_BETTER: ReadonlySet<string> = new Set(["followup_necessity", "customer_effort_score", "escalation_rate"])

/** The smallest of 1, 2, 5 × 10^k that is at least `x`. */
const niceStep = (x: number): number => {
  const exp = 10 ** Math.floor(Math.log10(x))
  for (const m of [1, 2, 5, 10]) if (m * exp >= x - 1e-12) return m * exp
  return 10 * exp
}

const metric = (name: string, kind: Metric["kind"], category: Category, range: Range): Metric => {
  const span = range.max - range.min
  const short = name.includes(".") ? name.slice(name.indexOf(".") + 1) : name
  return {
    name,
    kind,
    category,
    label: LABELS[short] ?? short.replace(/_/g, " "),
    range,
    binary: range.integer,
    better: LOWER_IS_BETTER.has(name) ? "lower" : "higher",
    // ~200 bins: percentiles come out within 0.5 % of the range
    binWidth: range.integer ? 1 : niceStep(span / 200),
    displayWidth: range.integer ? 1 : niceStep(span / 10)
  }
}

/** Every metric a report covers, the 14 KPIs first (in the specification's order). */
export const METRICS: ReadonlyArray<Metric> = [
  ...Object.entries(KPI_CATEGORIES).flatMap(([category, kpis]) =>
    Object.entries(kpis as Record<string, Range>).map(([name, range]) => metric(name, "kpi", category as Category, range))
  ),
  ...EMPATHY_SUBFACTORS.map((n) => metric(`empathy_subfactors.${n}`, "subfactor", "empathy_communication", EMPATHY_SUBFACTOR_RANGE)),
  ...CLARITY_SUBFACTORS.map((n) => metric(`clarity_subfactors.${n}`, "subfactor", "empathy_communication", CLARITY_SUBFACTOR_RANGE))
]
export const KPI_COUNT = 14
export const KPI_METRICS: ReadonlyArray<Metric> = METRICS.slice(0, KPI_COUNT)
export const METRIC_INDEX: ReadonlyMap<string, number> = new Map(METRICS.map((m, i) => [m.name, i]))
export const CATEGORIES = Object.keys(KPI_CATEGORIES) as ReadonlyArray<Category>

/** Index of a metric by name (throws on a typo: the names are fixed). */
export const metricIndex = (name: string): number => {
  const i = METRIC_INDEX.get(name)
  if (i === undefined) throw new Error(`unknown metric ${name}`)
  return i
}

/** The performance metrics of a result as one vector in `METRICS` order. */
export const metricValues = (pm: {
  readonly accuracy_compliance: Readonly<Record<string, number>>
  readonly empathy_communication: Readonly<Record<string, unknown>>
  readonly efficiency_resolution: Readonly<Record<string, number>>
}): Float64Array => {
  const out = new Float64Array(METRICS.length)
  const ec = pm.empathy_communication as Readonly<Record<string, number>> & {
    readonly empathy_subfactors: Readonly<Record<string, number>>
    readonly clarity_subfactors: Readonly<Record<string, number>>
  }
  let i = 0
  for (const m of METRICS) {
    if (m.kind === "kpi") {
      out[i++] = (pm[m.category] as Readonly<Record<string, number>>)[m.name] ?? Number.NaN
    } else {
      const [group, key] = m.name.split(".") as [string, string]
      out[i++] = (group === "empathy_subfactors" ? ec.empathy_subfactors : ec.clarity_subfactors)[key] ?? Number.NaN
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Moments: n, Σx, Σx² — mean, variance and standard error, and they add and subtract

export interface Moments {
  readonly n: number
  readonly sum: number
  readonly sumSq: number
}

export const EMPTY_MOMENTS: Moments = { n: 0, sum: 0, sumSq: 0 }

export const momentsOf = (values: ReadonlyArray<number>): Moments =>
  values.reduce((m, x) => ({ n: m.n + 1, sum: m.sum + x, sumSq: m.sumSq + x * x }), EMPTY_MOMENTS)

export const addMoments = (a: Moments, b: Moments): Moments => ({ n: a.n + b.n, sum: a.sum + b.sum, sumSq: a.sumSq + b.sumSq })
export const subtractMoments = (a: Moments, b: Moments): Moments => ({ n: a.n - b.n, sum: a.sum - b.sum, sumSq: a.sumSq - b.sumSq })

export const mean = (m: Moments): number | undefined => (m.n > 0 ? m.sum / m.n : undefined)

/**
 * Sample variance (n − 1); undefined below two values. Σx² − (Σx)²/n cancels for a (near)
 * constant sample: what is left at the level of rounding error is 0.
 */
export const variance = (m: Moments): number | undefined => {
  if (m.n < 2) return undefined
  const v = (m.sumSq - (m.sum * m.sum) / m.n) / (m.n - 1)
  return v <= 1e-12 * (m.sumSq / m.n) ? 0 : v
}

export const stdError = (m: Moments): number | undefined => {
  const v = variance(m)
  return v === undefined ? undefined : Math.sqrt(v / m.n)
}

/**
 * A block of running sums for many rows: `[n, Σx₀, Σx₀², Σx₁, Σx₁², ...]` over `METRICS`.
 * One per (group, period) cell of a report; cells add up into periods, groups and the total.
 */
export type Cell = Float64Array

export const newCell = (): Cell => new Float64Array(1 + 2 * METRICS.length)

export const addToCell = (cell: Cell, values: ArrayLike<number>): void => {
  cell[0]! += 1
  for (let i = 0; i < METRICS.length; i++) {
    const x = values[i]!
    cell[1 + 2 * i]! += x
    cell[2 + 2 * i]! += x * x
  }
}

export const mergeCell = (into: Cell, from: Cell): Cell => {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!
  return into
}

export const cellCount = (cell: Cell): number => cell[0]!

export const cellMoments = (cell: Cell, metric: number): Moments => ({
  n: cell[0]!,
  sum: cell[1 + 2 * metric]!,
  sumSq: cell[2 + 2 * metric]!
})

// ---------------------------------------------------------------------------------------------
// Fixed-bin histograms: percentiles within one bin, and they add up

const binCount = (m: Metric): number =>
  m.range.integer ? m.range.max - m.range.min + 1 : Math.round((m.range.max - m.range.min) / m.binWidth)

const OFFSETS: ReadonlyArray<number> = METRICS.reduce<Array<number>>((acc, m, i) => {
  acc.push(i === 0 ? 0 : acc[i - 1]! + binCount(METRICS[i - 1]!))
  return acc
}, [])
const TOTAL_BINS = OFFSETS[OFFSETS.length - 1]! + binCount(METRICS[METRICS.length - 1]!)

/** Bin of a value: `[min + k·w, min + (k+1)·w)`, the range's maximum in the last bin; integers get one bin each. */
export const binOf = (m: Metric, x: number): number => {
  const k = m.range.integer ? Math.round(x - m.range.min) : Math.floor((x - m.range.min) / m.binWidth + 1e-9)
  return Math.min(binCount(m) - 1, Math.max(0, k))
}

export interface Histograms {
  /** Counts of every metric's bins, one after the other. */
  readonly counts: Float64Array
  readonly min: Float64Array
  readonly max: Float64Array
}

export const newHistograms = (): Histograms => ({
  counts: new Float64Array(TOTAL_BINS),
  min: new Float64Array(METRICS.length).fill(Number.POSITIVE_INFINITY),
  max: new Float64Array(METRICS.length).fill(Number.NEGATIVE_INFINITY)
})

export const addToHistograms = (h: Histograms, values: ArrayLike<number>): void => {
  for (let i = 0; i < METRICS.length; i++) {
    const x = values[i]!
    h.counts[OFFSETS[i]! + binOf(METRICS[i]!, x)]! += 1
    if (x < h.min[i]!) h.min[i] = x
    if (x > h.max[i]!) h.max[i] = x
  }
}

export const mergeHistograms = (into: Histograms, from: Histograms): Histograms => {
  for (let i = 0; i < into.counts.length; i++) into.counts[i]! += from.counts[i]!
  for (let i = 0; i < METRICS.length; i++) {
    into.min[i] = Math.min(into.min[i]!, from.min[i]!)
    into.max[i] = Math.max(into.max[i]!, from.max[i]!)
  }
  return into
}

/** Counts of one metric's bins. */
export const binsOf = (h: Histograms, metric: number): Float64Array =>
  h.counts.subarray(OFFSETS[metric]!, OFFSETS[metric]! + binCount(METRICS[metric]!))

/**
 * The value of the `rank`-th smallest (0-based) of the metric's values, estimated from its bin:
 * the values of a bin are taken as evenly spread over it (an integer KPI's bin is its value).
 */
const orderStatistic = (m: Metric, bins: Float64Array, rank: number): number => {
  let seen = 0
  for (let k = 0; k < bins.length; k++) {
    const c = bins[k]!
    if (rank < seen + c) {
      if (m.range.integer) return m.range.min + k
      return m.range.min + (k + (rank - seen + 0.5) / c) * m.binWidth
    }
    seen += c
  }
  return m.range.max
}

/**
 * The p-quantile (0 ≤ p ≤ 1) with linear interpolation between order statistics (the usual
 * "type 7" definition), each order statistic estimated within its bin: the error is below one
 * bin width. Clamped to the observed minimum and maximum.
 */
export const percentile = (h: Histograms, metric: number, p: number): number | undefined => {
  const m = METRICS[metric]!
  const bins = binsOf(h, metric)
  let n = 0
  for (const c of bins) n += c
  if (n === 0) return undefined
  // the smallest and the largest value are known exactly
  const at = (k: number) => (k <= 0 ? h.min[metric]! : k >= n - 1 ? h.max[metric]! : orderStatistic(m, bins, k))
  const r = p * (n - 1)
  const lo = Math.floor(r)
  const a = at(lo)
  const b = at(lo + 1)
  const v = a + (r - lo) * (b - a)
  return Math.min(h.max[metric]!, Math.max(h.min[metric]!, v))
}

export interface DisplayBin {
  readonly from: number
  readonly to: number
  readonly count: number
}

/** The distribution chart's bars: histogram bins merged to `displayWidth` (integer KPIs: one bar per value). */
export const displayBins = (h: Histograms, metric: number): Array<DisplayBin> => {
  const m = METRICS[metric]!
  const bins = binsOf(h, metric)
  if (m.range.integer) return [...bins].map((count, k) => ({ from: m.range.min + k, to: m.range.min + k, count }))
  const per = Math.round(m.displayWidth / m.binWidth)
  const out: Array<DisplayBin> = []
  for (let k = 0; k < bins.length; k += per) {
    let count = 0
    for (let j = k; j < Math.min(bins.length, k + per); j++) count += bins[j]!
    const from = m.range.min + k * m.binWidth
    out.push({ from: roundTo(from), to: roundTo(Math.min(m.range.max, from + m.displayWidth)), count })
  }
  return out
}

const roundTo = (x: number, digits = 6): number => Math.round(x * 10 ** digits) / 10 ** digits

// ---------------------------------------------------------------------------------------------
// Is a difference real? 95 % two-sided tests from the standard errors

/** Two-sided 95 % critical values of Student's t by degrees of freedom (1–30, then 40, 60, 120). */
const T_975: ReadonlyArray<number> = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
  2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042
]

/** Critical t for `df` degrees of freedom, rounded down to a tabulated df (so never too lenient). */
export const tCritical = (df: number): number => {
  if (!(df >= 1)) return T_975[0]!
  if (df < 31) return T_975[Math.floor(df) - 1]!
  if (df < 40) return 2.042
  if (df < 60) return 2.021
  if (df < 120) return 2.0
  if (df < 1e6) return 1.98
  return 1.96
}

export interface Comparison {
  /** mean(a) − mean(b). */
  readonly difference: number
  /** Standard error of the difference. */
  readonly stdError: number
  /** The difference lies outside its 95 % interval around zero. */
  readonly significant: boolean
}

/**
 * Compares the means of two independent samples. Rates (0/1 KPIs): two-proportion z-test with
 * the pooled rate. Scores: Welch's t-test (unequal variances, Welch–Satterthwaite degrees of
 * freedom). Undefined when either side has fewer than two values (no variance to judge by).
 */
export const compareMeans = (a: Moments, b: Moments, binary: boolean): Comparison | undefined => {
  if (a.n < 2 || b.n < 2) return undefined
  const difference = a.sum / a.n - b.sum / b.n
  if (binary) {
    const p = (a.sum + b.sum) / (a.n + b.n)
    const se = Math.sqrt(p * (1 - p) * (1 / a.n + 1 / b.n))
    return { difference, stdError: se, significant: se > 0 && Math.abs(difference) > 1.96 * se }
  }
  const va = variance(a)! / a.n
  const vb = variance(b)! / b.n
  const se = Math.sqrt(va + vb)
  if (se === 0) return { difference, stdError: 0, significant: Math.abs(difference) > 1e-9 }
  const df = (va + vb) ** 2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1))
  return { difference, stdError: se, significant: Math.abs(difference) > tCritical(df) * se }
}

/** Groups smaller than this are shown in a breakdown but never marked. */
export const MIN_GROUP_SIZE = 10
/** A trend change is only judged when both periods have at least this many conversations. */
export const MIN_PERIOD_SIZE = 5

/** Whether a difference goes the bad way for this metric (lower for most, higher for effort and the like). */
export const isWorse = (m: Metric, difference: number): boolean => (m.better === "higher" ? difference < 0 : difference > 0)

// ---------------------------------------------------------------------------------------------
// Time: ISO days, ISO weeks and months in UTC

export const PERIODS = ["day", "week", "month"] as const
export type Period = typeof PERIODS[number]

const DAY_MS = 86_400_000

/** `YYYY-MM-DD` as midnight UTC; undefined unless it is a real calendar day. */
export const parseDay = (s: string): Date | undefined => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return undefined
  const d = new Date(`${s}T00:00:00Z`)
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s ? undefined : d
}

export const dayString = (d: Date): string => d.toISOString().slice(0, 10)

export const addDays = (d: Date, days: number): Date => new Date(d.getTime() + days * DAY_MS)

/** The start of the period (UTC) that contains `t`; weeks start on Monday (ISO 8601). */
export const periodStart = (t: Date, period: Period): Date => {
  const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()))
  switch (period) {
    case "day":
      return day
    case "week":
      return addDays(day, -((day.getUTCDay() + 6) % 7))
    case "month":
      return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1))
  }
}

export const nextPeriod = (start: Date, period: Period): Date =>
  period === "day"
    ? addDays(start, 1)
    : period === "week"
    ? addDays(start, 7)
    : new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1))

/** `2024-08-12`, `2024-W33` (ISO week-numbering year and week) or `2024-08`. */
export const periodLabel = (start: Date, period: Period): string => {
  if (period === "day") return dayString(start)
  if (period === "month") return dayString(start).slice(0, 7)
  // the ISO week belongs to the year of its Thursday
  const thursday = addDays(periodStart(start, "week"), 3)
  const year = thursday.getUTCFullYear()
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS))
  return `${year}-W${String(week).padStart(2, "0")}`
}

export interface PeriodSlot {
  readonly label: string
  /** First day in the window (inclusive). */
  readonly start: Date
  /** End in the window (exclusive). */
  readonly end: Date
}

/** The periods that cover `[since, until)`, the first and last clipped to the window. */
export const periodsIn = (since: Date, until: Date, period: Period): Array<PeriodSlot> => {
  const out: Array<PeriodSlot> = []
  for (let s = periodStart(since, period); s < until; s = nextPeriod(s, period)) {
    const e = nextPeriod(s, period)
    out.push({ label: periodLabel(s, period), start: s < since ? since : s, end: e > until ? until : e })
  }
  return out
}

/** The default span of a report: 12 weeks. */
export const DEFAULT_WEEKS = 12

/**
 * The report's window `[since, until)`. Unset ends default to the 12 ISO weeks that end with the
 * week of the newest conversation in the results (`anchor`; today when there are none), so old
 * data still shows; a lone `--since` past that gets 12 weeks from itself, a lone `--until` the
 * 12 weeks before it.
 */
export const resolveWindow = (given: { readonly since?: Date | undefined; readonly until?: Date | undefined }, anchor: Date): {
  readonly since: Date
  readonly until: Date
} => {
  const span = DEFAULT_WEEKS * 7
  const defaultUntil = nextPeriod(periodStart(anchor, "week"), "week")
  const until = given.until ?? (given.since !== undefined && defaultUntil <= given.since ? addDays(given.since, span) : defaultUntil)
  const since = given.since ?? addDays(until, -span)
  return { since, until }
}
