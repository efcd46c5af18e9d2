import type { AnalysisRationale } from "./Rationale.ts"
import type { Usage } from "./Kpi.ts"
import type { Period } from "./ReportStats.ts"

/**
 * What `cpa report` computes: the JSON format prints this object as it is, the other formats
 * are views of it. Field names are stable (documented in the README); a number that cannot be
 * computed (no conversations, fewer than two for a standard error) is `null`.
 */

export const DIMENSIONS = ["agent", "intent", "topic", "categorization", "conversation_type", "model"] as const
export type Dimension = typeof DIMENSIONS[number]

export const FORMATS = ["text", "json", "csv", "html"] as const
export type Format = typeof FORMATS[number]

/** Version of this document's shape. */
export const REPORT_VERSION = 1

/** The group of a result without the dimension's value (no agent message, no intent, ...). */
export const NO_VALUE = "(none)"

export interface ReportQuery {
  /** First day of the window (UTC, inclusive). */
  readonly since: string
  /** Day after the window (UTC, exclusive). */
  readonly until: string
  readonly period: Period
  readonly dimension: Dimension
  /** The one `model_used` the figures cover; null when there are no results at all. */
  readonly model_used: string | null
  /** `flag`: `--model-used`; `latest`: the model of the most recently processed result. */
  readonly model_chosen_by: "flag" | "latest"
  readonly top: number
  /** The results' field the window filters on: the conversation's time, not the analysis time. */
  readonly time_field: "source_timestamp"
  readonly timezone: "UTC"
}

export interface VersionCount {
  readonly analysis_version: string
  readonly results: number
}

export interface ModelCoverage {
  readonly model_used: string
  /** Results of this model whose conversation is in the window. */
  readonly results: number
  readonly analysis_versions: ReadonlyArray<VersionCount>
  readonly usage: Usage
  readonly estimated_cost_usd: number
}

export interface TagCount {
  readonly tag: string
  readonly count: number
}

export interface Coverage {
  /** Source documents whose `_id` was created in the window (the upstream store time). */
  readonly source_conversations: number
  /** Results of the report's model in the window. */
  readonly analyzed: number
  /** Results of every model in the window. */
  readonly analyzed_all_models: number
  readonly first_conversation: string | null
  readonly last_conversation: string | null
  /** Source documents after the job's checkpoint, not yet analyzed (whole collection). */
  readonly backlog: number
  readonly open_dead_letters: number
  readonly open_dead_letters_by_tag: ReadonlyArray<TagCount>
  /** Tokens and estimated cost of the window's results, by model. */
  readonly models: ReadonlyArray<ModelCoverage>
  /** Results stored before 4.3.0 whose agent handle was read from their source document. */
  readonly agent_handles_from_sources: number
}

/** n, mean and spread of one metric over some results. */
export interface MetricSummary {
  readonly n: number
  readonly mean: number | null
  readonly std_error: number | null
  readonly median: number | null
  readonly p10: number | null
  readonly p90: number | null
  readonly min: number | null
  readonly max: number | null
  /** 0/1 KPIs only: the share of 1s (resolution rate, follow-up rate); the same as `mean`. */
  readonly rate?: number | null
}

export interface Summary {
  /** The 14 KPIs by name. */
  readonly kpis: Readonly<Record<string, MetricSummary>>
  /** The 12 sub-factors, as `empathy_subfactors.<name>` and `clarity_subfactors.<name>`. */
  readonly subfactors: Readonly<Record<string, MetricSummary>>
}

export interface DistributionBin {
  /** Lower bound (inclusive); for 0/1 KPIs the value. */
  readonly from: number
  /** Upper bound (exclusive, except for the last bin); for 0/1 KPIs the value. */
  readonly to: number
  readonly count: number
}

export interface TrendValue {
  readonly mean: number | null
  readonly std_error: number | null
  /** Mean minus the previous period's mean. */
  readonly change: number | null
  readonly change_std_error: number | null
  /** The change is outside its 95 % interval (both periods with n ≥ `min_period_size`). */
  readonly significant: boolean
}

export interface TrendPeriod {
  /** `2024-08-12`, `2024-W33` or `2024-08`. */
  readonly period: string
  /** First day in the window (inclusive). */
  readonly start: string
  /** Day after the period in the window (exclusive). */
  readonly end: string
  readonly n: number
  readonly kpis: Readonly<Record<string, TrendValue>>
}

export interface GroupValue {
  readonly mean: number | null
  readonly std_error: number | null
  /** Mean minus the reference's mean (the other groups together; with `--by model`, the report's model). */
  readonly difference: number | null
  /** Significantly worse than the reference (95 %): lower, or higher for effort, follow-up and escalation. */
  readonly worse: boolean
}

export interface Group {
  readonly group: string
  readonly n: number
  /** n below `min_group_size`: shown, never marked. */
  readonly small: boolean
  readonly kpis: Readonly<Record<string, GroupValue>>
  /** The KPIs marked `worse`, for a quick read. */
  readonly worse_kpis: ReadonlyArray<string>
}

export interface Breakdown {
  readonly dimension: Dimension
  /** What a group is compared with: the rest of the groups, or the report's model. */
  readonly reference: "other_groups" | "report_model"
  readonly min_group_size: number
  /** By CSAT, lowest first; small groups last. */
  readonly groups: ReadonlyArray<Group>
}

export interface ReviewItem {
  readonly conversation_id: string
  readonly source_object_id: string
  /** The agent side's handle (brand account or agent id). */
  readonly agent: string | null
  readonly source_timestamp: string
  readonly intent: string | null
  readonly topic: string | null
  readonly csat_resolution: number
  readonly customer_effort_score: number
  readonly resolution_completeness: number
  readonly empathy_score: number
  /** Shortened; null when the source document is gone. */
  readonly last_customer_message: string | null
  /** Why it got its scores (the result's `analysis_rationale`); null for results stored without one. */
  readonly rationale: AnalysisRationale | null
}

export interface Review {
  /** The `top` lowest by CSAT (ties: higher effort first). */
  readonly lowest_csat: ReadonlyArray<ReviewItem>
  /** Unresolved (`resolution_completeness` 0), the `top` highest by customer effort (ties: lower CSAT first). */
  readonly unresolved_high_effort: ReadonlyArray<ReviewItem>
}

export interface DeadLetterItem {
  readonly source_object_id: string
  readonly tag: string
  readonly reason: string | null
  readonly message: string
  readonly attempts: number
  readonly first_failed_at: string
  readonly last_failed_at: string
}

export interface DeadLetters {
  readonly open: number
  readonly open_by_tag: ReadonlyArray<TagCount>
  /** The `top` oldest open ones by last failure. */
  readonly oldest_open: ReadonlyArray<DeadLetterItem>
  readonly retry_commands: ReadonlyArray<string>
}

export interface Report {
  readonly report_version: number
  readonly generated_at: string
  readonly query: ReportQuery
  /** Analysis versions among the report model's results in the window. */
  readonly analysis_versions: ReadonlyArray<VersionCount>
  readonly coverage: Coverage
  readonly summary: Summary
  readonly distributions: Readonly<Record<string, ReadonlyArray<DistributionBin>>>
  readonly trend: {
    readonly min_period_size: number
    readonly periods: ReadonlyArray<TrendPeriod>
  }
  readonly breakdown: Breakdown
  /** One row per (group, period) with data: what the CSV format lists. */
  readonly cells: ReadonlyArray<{
    readonly group: string
    readonly period: string
    readonly n: number
    readonly kpis: Readonly<Record<string, { readonly mean: number; readonly std_error: number | null }>>
  }>
  readonly review: Review
  readonly dead_letters: DeadLetters
}
