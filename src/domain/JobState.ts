import { Schema } from "effect"
import { emptyUsage, Usage } from "./Kpi.ts"
import { isoSeconds } from "./Text.ts"

export const JobStatus = Schema.Literals(["running", "completed", "failed", "stopped"])
export type JobStatus = typeof JobStatus.Type

/** Counters of one batch, as stored in `job_state.data.batch_stats` and printed as BATCH RESULTS. */
export const BatchStats = Schema.Struct({
  records_processed: Schema.Int,
  records_analyzed: Schema.Int,
  records_persisted: Schema.Int,
  errors: Schema.Int,
  duration_seconds: Schema.Finite,
  last_processed_id: Schema.NullOr(Schema.String),
  started_at: Schema.String,
  usage: Usage,
  estimated_cost_usd: Schema.Finite
})
export type BatchStats = typeof BatchStats.Type

/** Running totals across batches since the last reset (`job_state.data.total_stats`). */
export const TotalStats = Schema.Struct({
  batches: Schema.Int,
  records_processed: Schema.Int,
  records_analyzed: Schema.Int,
  records_persisted: Schema.Int,
  errors: Schema.Int,
  duration_seconds: Schema.Finite,
  usage: Usage,
  estimated_cost_usd: Schema.Finite
})
export type TotalStats = typeof TotalStats.Type

/** The `job_state` document, one per `job_name`. */
export const JobState = Schema.Struct({
  job_name: Schema.String,
  last_processed_object_id: Schema.NullOr(Schema.String),
  last_updated: Schema.String,
  status: JobStatus,
  data: Schema.Struct({
    iteration: Schema.Int,
    batch_stats: Schema.NullOr(BatchStats),
    total_stats: TotalStats
  })
})
export type JobState = typeof JobState.Type

export const emptyTotals: TotalStats = {
  batches: 0,
  records_processed: 0,
  records_analyzed: 0,
  records_persisted: 0,
  errors: 0,
  duration_seconds: 0,
  usage: emptyUsage,
  estimated_cost_usd: 0
}

export const initialJobState = (jobName: string, now: Date): JobState => ({
  job_name: jobName,
  last_processed_object_id: null,
  last_updated: isoSeconds(now),
  status: "completed",
  data: { iteration: 0, batch_stats: null, total_stats: emptyTotals }
})
