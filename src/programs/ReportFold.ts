import { addUsage, emptyUsage, type Usage } from "../domain/Kpi.ts"
import {
  type Breakdown,
  type Dimension,
  type DistributionBin,
  type Group,
  type GroupValue,
  type MetricSummary,
  type ModelCoverage,
  NO_VALUE,
  type TrendPeriod,
  type TrendValue,
  type VersionCount
} from "../domain/Report.ts"
import {
  addToCell,
  addToHistograms,
  type Cell,
  cellCount,
  cellMoments,
  compareMeans,
  displayBins,
  type Histograms,
  isWorse,
  KPI_METRICS,
  mean,
  mergeCell,
  metricIndex,
  METRICS,
  metricValues,
  MIN_GROUP_SIZE,
  MIN_PERIOD_SIZE,
  type Moments,
  newCell,
  newHistograms,
  percentile,
  type Period,
  periodsIn,
  type PeriodSlot,
  stdError,
  subtractMoments,
  dayString
} from "../domain/ReportStats.ts"
import type { ResultRow } from "../domain/Result.ts"

/**
 * The one pass of a report over the results of its window: each row is added to running sums
 * of its (group, period) cell and to the report model's histograms, and may enter the two
 * bounded review lists. Memory depends on the number of groups × periods and `--top`, never on
 * the number of results. Pure: the program feeds it rows as they stream from the store.
 */

export interface FoldOptions {
  readonly since: Date
  readonly until: Date
  readonly period: Period
  readonly dimension: Dimension
  /** The model the figures cover; rows of other models only count in the coverage (and, by model, as groups). */
  readonly model: string | undefined
  readonly top: number
}

/** What the review lists keep of a row. */
export interface ReviewCandidate {
  readonly source_object_id: string
  readonly source_timestamp: string
  readonly agent: string | undefined
  readonly intent: string | null
  readonly topic: string | null
  readonly csat_resolution: number
  readonly customer_effort_score: number
  readonly resolution_completeness: number
  readonly empathy_score: number
}

/** The `limit` smallest items by `compare`, kept sorted; an insertion is a binary search. */
class Smallest<A> {
  readonly items: Array<A> = []
  readonly limit: number
  readonly compare: (a: A, b: A) => number
  constructor(limit: number, compare: (a: A, b: A) => number) {
    this.limit = limit
    this.compare = compare
  }
  add(a: A): void {
    if (this.limit <= 0) return
    if (this.items.length === this.limit && this.compare(a, this.items[this.items.length - 1]!) >= 0) return
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compare(this.items[mid]!, a) <= 0) lo = mid + 1
      else hi = mid
    }
    this.items.splice(lo, 0, a)
    if (this.items.length > this.limit) this.items.pop()
  }
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const lowestCsatFirst = (a: ReviewCandidate, b: ReviewCandidate) =>
  a.csat_resolution - b.csat_resolution || b.customer_effort_score - a.customer_effort_score ||
  byString(a.source_object_id, b.source_object_id)

const highestEffortFirst = (a: ReviewCandidate, b: ReviewCandidate) =>
  b.customer_effort_score - a.customer_effort_score || a.csat_resolution - b.csat_resolution ||
  byString(a.source_object_id, b.source_object_id)

interface ModelTotals {
  results: number
  usage: Usage
  cost: number
  readonly versions: Map<string, number>
}

const I = {
  csat: metricIndex("csat_resolution"),
  effort: metricIndex("customer_effort_score"),
  resolved: metricIndex("resolution_completeness"),
  empathy: metricIndex("empathy_score")
}

/** The first agent handle of a result (4.3.0 on; none when no agent wrote in the conversation). */
export const storedAgent = (row: ResultRow): string | undefined => row.conversation_summary.agent_ids?.[0]

export const makeReportFold = (options: FoldOptions) => {
  const slots = periodsIn(options.since, options.until, options.period)
  const starts = slots.map((s) => s.start.getTime())
  const untilMs = options.until.getTime()
  const models = new Map<string, ModelTotals>()
  const histograms = newHistograms()
  /** Report model's rows by period. */
  const periods: Array<Cell> = slots.map(() => newCell())
  /** Rows by group, then by period (undefined until a row lands there). */
  const groups = new Map<string, Array<Cell | undefined>>()
  const lowestCsat = new Smallest<ReviewCandidate>(options.top, lowestCsatFirst)
  const unresolved = new Smallest<ReviewCandidate>(options.top, highestEffortFirst)
  let first: string | undefined
  let last: string | undefined
  let handlesFromSources = 0

  const slotOf = (ts: string): number => {
    const t = Date.parse(ts)
    if (!(t >= starts[0]! && t < untilMs)) return -1
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (starts[mid]! <= t) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  const groupOf = (row: ResultRow, handle: string | undefined): string => {
    const s = row.conversation_summary
    switch (options.dimension) {
      case "agent":
        return storedAgent(row) ?? handle ?? NO_VALUE
      case "model":
        return row.analysis_metadata.model_used
      default:
        return s[options.dimension] ?? NO_VALUE
    }
  }

  const addToGroup = (group: string, slot: number, values: Float64Array) => {
    let cells = groups.get(group)
    if (cells === undefined) {
      cells = slots.map(() => undefined)
      groups.set(group, cells)
    }
    addToCell(cells[slot] ??= newCell(), values)
  }

  return {
    slots,
    /** A row that needs its agent handle from its source document (a result stored before 4.3.0). */
    needsHandle: (row: ResultRow): boolean =>
      options.dimension === "agent" && row.analysis_metadata.model_used === options.model && row.conversation_summary.agent_ids === undefined,

    /** Adds one row; `handle` is its agent handle read from the source when the result lacks it. */
    add: (row: ResultRow, handle?: string | undefined): void => {
      const slot = slotOf(row.source_timestamp)
      if (slot < 0) return
      const meta = row.analysis_metadata
      let totals = models.get(meta.model_used)
      if (totals === undefined) {
        totals = { results: 0, usage: emptyUsage, cost: 0, versions: new Map() }
        models.set(meta.model_used, totals)
      }
      totals.results++
      if (meta.usage !== undefined) totals.usage = addUsage(totals.usage, meta.usage)
      totals.cost += meta.estimated_cost_usd ?? 0
      totals.versions.set(meta.analysis_version, (totals.versions.get(meta.analysis_version) ?? 0) + 1)

      const values = metricValues(row.performance_metrics)
      if (options.dimension === "model") addToGroup(meta.model_used, slot, values)
      if (meta.model_used !== options.model) return

      addToCell(periods[slot]!, values)
      addToHistograms(histograms, values)
      if (first === undefined || row.source_timestamp < first) first = row.source_timestamp
      if (last === undefined || row.source_timestamp > last) last = row.source_timestamp
      if (row.conversation_summary.agent_ids === undefined && handle !== undefined) handlesFromSources++
      if (options.dimension !== "model") addToGroup(groupOf(row, handle), slot, values)

      const candidate: ReviewCandidate = {
        source_object_id: row.source_object_id,
        source_timestamp: row.source_timestamp,
        agent: storedAgent(row) ?? handle,
        intent: row.conversation_summary.intent,
        topic: row.conversation_summary.topic,
        csat_resolution: values[I.csat]!,
        customer_effort_score: values[I.effort]!,
        resolution_completeness: values[I.resolved]!,
        empathy_score: values[I.empathy]!
      }
      lowestCsat.add(candidate)
      if (candidate.resolution_completeness === 0) unresolved.add(candidate)
    },

    finish: (): FoldResult => ({
      options,
      slots,
      models,
      histograms,
      periods,
      groups,
      lowestCsat: lowestCsat.items,
      unresolved: unresolved.items,
      first,
      last,
      handlesFromSources
    })
  }
}

export type ReportFold = ReturnType<typeof makeReportFold>

export interface FoldResult {
  readonly options: FoldOptions
  readonly slots: ReadonlyArray<PeriodSlot>
  readonly models: ReadonlyMap<string, ModelTotals>
  readonly histograms: Histograms
  readonly periods: ReadonlyArray<Cell>
  readonly groups: ReadonlyMap<string, ReadonlyArray<Cell | undefined>>
  readonly lowestCsat: ReadonlyArray<ReviewCandidate>
  readonly unresolved: ReadonlyArray<ReviewCandidate>
  readonly first: string | undefined
  readonly last: string | undefined
  readonly handlesFromSources: number
}

// ---------------------------------------------------------------------------------------------
// From running sums to the report's figures

const orNull = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x)

const total = (cells: ReadonlyArray<Cell | undefined>): Cell => cells.reduce<Cell>((acc, c) => (c ? mergeCell(acc, c) : acc), newCell())

export const metricSummary = (cell: Cell, histograms: Histograms, i: number): MetricSummary => {
  const m = cellMoments(cell, i)
  const none = m.n === 0
  const summary: MetricSummary = {
    n: m.n,
    mean: orNull(mean(m)),
    std_error: orNull(stdError(m)),
    median: none ? null : orNull(percentile(histograms, i, 0.5)),
    p10: none ? null : orNull(percentile(histograms, i, 0.1)),
    p90: none ? null : orNull(percentile(histograms, i, 0.9)),
    min: none ? null : histograms.min[i]!,
    max: none ? null : histograms.max[i]!
  }
  return METRICS[i]!.binary ? { ...summary, rate: summary.mean } : summary
}

export const summaryOf = (fold: FoldResult) => {
  const all = total(fold.periods)
  const kpis: Record<string, MetricSummary> = {}
  const subfactors: Record<string, MetricSummary> = {}
  METRICS.forEach((m, i) => {
    ;(m.kind === "kpi" ? kpis : subfactors)[m.name] = metricSummary(all, fold.histograms, i)
  })
  return { kpis, subfactors }
}

export const distributionsOf = (fold: FoldResult): Record<string, Array<DistributionBin>> => {
  const empty = cellCount(total(fold.periods)) === 0
  return Object.fromEntries(KPI_METRICS.map((m, i) => [m.name, empty ? [] : displayBins(fold.histograms, i)]))
}

const change = (cur: Moments, prev: Moments | undefined, binary: boolean): Omit<TrendValue, "mean" | "std_error"> => {
  if (prev === undefined || prev.n === 0 || cur.n === 0) return { change: null, change_std_error: null, significant: false }
  const c = compareMeans(cur, prev, binary)
  return {
    change: cur.sum / cur.n - prev.sum / prev.n,
    change_std_error: orNull(c?.stdError),
    significant: c !== undefined && c.significant && cur.n >= MIN_PERIOD_SIZE && prev.n >= MIN_PERIOD_SIZE
  }
}

export const trendOf = (fold: FoldResult): Array<TrendPeriod> =>
  fold.slots.map((slot, p) => {
    const cell = fold.periods[p]!
    const prev = p > 0 ? fold.periods[p - 1] : undefined
    const kpis: Record<string, TrendValue> = {}
    KPI_METRICS.forEach((m, i) => {
      const cur = cellMoments(cell, i)
      kpis[m.name] = {
        mean: orNull(mean(cur)),
        std_error: orNull(stdError(cur)),
        ...change(cur, prev === undefined ? undefined : cellMoments(prev, i), m.binary)
      }
    })
    return { period: slot.label, start: dayString(slot.start), end: dayString(slot.end), n: cellCount(cell), kpis }
  })

export const breakdownOf = (fold: FoldResult): Breakdown => {
  const byModel = fold.options.dimension === "model"
  const totals = new Map([...fold.groups].map(([g, cells]) => [g, total(cells)]))
  const overall = byModel ? (totals.get(fold.options.model ?? "") ?? newCell()) : total(fold.periods)
  const csat = metricIndex("csat_resolution")
  const groups: Array<Group> = [...totals].map(([name, cell]) => {
    const n = cellCount(cell)
    const small = n < MIN_GROUP_SIZE
    const kpis: Record<string, GroupValue> = {}
    const worse: Array<string> = []
    KPI_METRICS.forEach((m, i) => {
      const g = cellMoments(cell, i)
      const isReference = byModel && name === fold.options.model
      const ref = byModel ? cellMoments(overall, i) : subtractMoments(cellMoments(overall, i), g)
      const c = isReference || ref.n === 0 ? undefined : compareMeans(g, ref, m.binary)
      const marked = !small && c !== undefined && c.significant && isWorse(m, c.difference)
      if (marked) worse.push(m.name)
      kpis[m.name] = {
        mean: orNull(mean(g)),
        std_error: orNull(stdError(g)),
        difference: isReference ? 0 : ref.n === 0 || g.n === 0 ? null : g.sum / g.n - ref.sum / ref.n,
        worse: marked
      }
    })
    return { group: name, n, small, kpis, worse_kpis: worse }
  })
  const csatOf = (g: Group) => g.kpis[KPI_METRICS[csat]!.name]?.mean ?? Number.POSITIVE_INFINITY
  groups.sort((a, b) => Number(a.small) - Number(b.small) || csatOf(a) - csatOf(b) || b.n - a.n || byString(a.group, b.group))
  return {
    dimension: fold.options.dimension,
    reference: byModel ? "report_model" : "other_groups",
    min_group_size: MIN_GROUP_SIZE,
    groups
  }
}

export const cellsOf = (fold: FoldResult) =>
  [...fold.groups].flatMap(([group, cells]) =>
    cells.flatMap((cell, p) => {
      if (cell === undefined || cellCount(cell) === 0) return []
      const kpis: Record<string, { mean: number; std_error: number | null }> = {}
      KPI_METRICS.forEach((m, i) => {
        const mm = cellMoments(cell, i)
        kpis[m.name] = { mean: mm.sum / mm.n, std_error: orNull(stdError(mm)) }
      })
      return [{ group, period: fold.slots[p]!.label, n: cellCount(cell), kpis }]
    })
  ).sort((a, b) => byString(a.group, b.group) || byString(a.period, b.period))

const versionCounts = (versions: ReadonlyMap<string, number>): Array<VersionCount> =>
  [...versions].map(([analysis_version, results]) => ({ analysis_version, results })).sort((a, b) =>
    byString(a.analysis_version, b.analysis_version)
  )

export const modelCoverage = (fold: FoldResult): Array<ModelCoverage> =>
  [...fold.models].map(([model_used, t]) => ({
    model_used,
    results: t.results,
    analysis_versions: versionCounts(t.versions),
    usage: t.usage,
    estimated_cost_usd: t.cost
  })).sort((a, b) => b.results - a.results || byString(a.model_used, b.model_used))

export const reportVersions = (fold: FoldResult): Array<VersionCount> =>
  versionCounts(fold.models.get(fold.options.model ?? "")?.versions ?? new Map())

export const analyzedCount = (fold: FoldResult): number => cellCount(total(fold.periods))
