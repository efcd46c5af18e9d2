import type { AgenticAnalysis } from "../domain/Result.ts"
import type { BatchStats, JobState, TotalStats } from "../domain/JobState.ts"
import type { Usage } from "../domain/Kpi.ts"
import type { DeadLetterCount, StoreCounts } from "../services/ConversationStore.ts"

export const RULE = "=".repeat(80)

const heading = (title: string): Array<string> => [RULE, title, RULE]

const thousands = (n: number): string => n.toLocaleString("en-US")

/** `2023-01-01 10:05:00` from an ISO time, as the original job printed it. */
const plainTime = (iso: string): string => iso.replace("T", " ").replace(/(\.\d+)?Z$/, "")

const usageLines = (usage: Usage, cost: number): Array<string> =>
  usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens === 0
    ? []
    : [
      `Input Tokens: ${thousands(usage.input_tokens)}`,
      `Output Tokens: ${thousands(usage.output_tokens)}`,
      `Cache Write Tokens: ${thousands(usage.cache_creation_input_tokens)}`,
      `Cache Read Tokens: ${thousands(usage.cache_read_input_tokens)}`,
      `Estimated Cost: $${cost.toFixed(4)}`
    ]

/** The "BATCH RESULTS" block; token and cost lines follow when a model reported usage. */
export const formatBatchResults = (stats: BatchStats, title = "BATCH RESULTS"): string =>
  [
    ...heading(title),
    `Records Processed: ${stats.records_processed}`,
    `Records Analyzed: ${stats.records_analyzed}`,
    `Records Persisted: ${stats.records_persisted}`,
    `Errors: ${stats.errors}`,
    `Duration: ${stats.duration_seconds.toFixed(2)} seconds`,
    `Last Processed ID: ${stats.last_processed_id ?? "none"}`,
    ...usageLines(stats.usage, stats.estimated_cost_usd)
  ].join("\n")

/** The block printed at the end of an interval run: the same labels over all its batches. */
export const formatRunTotals = (totals: TotalStats, lastProcessedId: string | null): string =>
  [
    ...heading("RUN TOTALS"),
    `Batches: ${totals.batches}`,
    `Records Processed: ${totals.records_processed}`,
    `Records Analyzed: ${totals.records_analyzed}`,
    `Records Persisted: ${totals.records_persisted}`,
    `Errors: ${totals.errors}`,
    `Duration: ${totals.duration_seconds.toFixed(2)} seconds`,
    `Last Processed ID: ${lastProcessedId ?? "none"}`,
    ...usageLines(totals.usage, totals.estimated_cost_usd)
  ].join("\n")

/** Batch mode's last known state (from job_state; no API call). */
const batchModeLines = (state: JobState | undefined): Array<string> => {
  const mode = state?.batch_mode
  if (mode == null) return []
  return [
    `Message Batches In Flight: ${mode.batches.length}${mode.last_polled_at !== null ? ` (last polled ${plainTime(mode.last_polled_at)})` : ""}`,
    ...mode.batches.map((b) =>
      `  • ${b.batch_id ?? "(intent, not yet created)"} - ${b.status} - ${b.count} requests - processing ${b.counts.processing}, succeeded ${b.counts.succeeded}, errored ${b.counts.errored}, canceled ${b.counts.canceled}, expired ${b.counts.expired}`
    ),
    `Records Back In The Queue: ${thousands(mode.requeue.length)}`
  ]
}

export interface StatsView {
  readonly state: JobState | undefined
  readonly counts: StoreCounts
  readonly recent: ReadonlyArray<AgenticAnalysis>
  readonly deadLetters: ReadonlyArray<DeadLetterCount>
}

/** The "JOB STATISTICS" block of `--stats-only`. */
export const formatJobStatistics = ({ counts, deadLetters, recent, state }: StatsView): string => {
  const totals = state?.data.total_stats
  return [
    ...heading("JOB STATISTICS"),
    `Job Status: ${state?.status ?? "never run"}`,
    `Last Updated: ${state ? plainTime(state.last_updated) : "never"}`,
    `Last Processed ID: ${state?.last_processed_object_id ?? "none"}`,
    `Agentic Analysis Records: ${thousands(counts.results)}`,
    `Latest Results: ${recent.length}`,
    `Source Records: ${thousands(counts.sources)}${
      counts.unreadable > 0 ? ` (${thousands(counts.unreadable)} with an _id that is not an ObjectId: never processed, the job reads in ObjectId order)` : ""
    }`,
    `Backlog: ${thousands(counts.backlog)}`,
    `Open Dead Letters: ${thousands(counts.openDeadLetters)}${
      deadLetters.length > 0 ? ` (${deadLetters.map((d) => `${d.tag}: ${d.count}`).join(", ")})` : ""
    }`,
    `Iteration: ${state?.data.iteration ?? 0}`,
    ...batchModeLines(state),
    ...(totals ? usageLines(totals.usage, totals.estimated_cost_usd) : []),
    "",
    "Recent Analysis Results:",
    ...(recent.length === 0
      ? ["  (none)"]
      : recent.map((r) => `  • ${r.conversation_id} - ${r.analysis_metadata.processed_timestamp} - ${r.analysis_metadata.model_used}`))
  ].join("\n")
}
