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

/** Request counts of one Message Batches API batch, as the API reports them. */
export const ApiBatchCounts = Schema.Struct({
  processing: Schema.Int,
  succeeded: Schema.Int,
  errored: Schema.Int,
  canceled: Schema.Int,
  expired: Schema.Int
})
export type ApiBatchCounts = typeof ApiBatchCounts.Type

/** A record sent again (canceled, expired, or a retriable error) and the attempts that failed so far. */
export const Requeued = Schema.Struct({
  id: Schema.String,
  attempts: Schema.Int,
  /** Where the record's first API batch started reading: the checkpoint cannot pass it. */
  after: Schema.NullOr(Schema.String)
})
export type Requeued = typeof Requeued.Type

/**
 * One API batch of batch mode. The intent (its records, model, rubric version, `intent_at`) is
 * saved before the batch is created; `batch_id` after. Records are a contiguous id range
 * (`after` < id <= `last_id`, `read` source documents, `count` requests) or, for records sent
 * again, the explicit `ids`.
 */
export const ApiBatch = Schema.Struct({
  intent_at: Schema.String,
  kind: Schema.Literals(["range", "ids"]),
  after: Schema.NullOr(Schema.String),
  first_id: Schema.NullOr(Schema.String),
  last_id: Schema.NullOr(Schema.String),
  read: Schema.Int,
  count: Schema.Int,
  ids: Schema.Array(Requeued),
  model: Schema.String,
  rubric_version: Schema.String,
  batch_id: Schema.NullOr(Schema.String),
  created_at: Schema.NullOr(Schema.String),
  status: Schema.Literals(["intent", "in_progress", "canceling", "ended", "collected"]),
  counts: ApiBatchCounts
})
export type ApiBatch = typeof ApiBatch.Type

/** Batch mode's part of `job_state`: the API batches not yet settled, and what was sent. */
export const BatchModeState = Schema.Struct({
  /** The highest source id taken into an API batch (or dead-lettered before any call). */
  submitted_through: Schema.NullOr(Schema.String),
  /** Records back in the queue, to be sent in the next submit. */
  requeue: Schema.Array(Requeued),
  batches: Schema.Array(ApiBatch),
  /** Ids of settled API batches (the latest 50), never adopted again after a crash. */
  settled: Schema.Array(Schema.String),
  last_polled_at: Schema.NullOr(Schema.String)
})
export type BatchModeState = typeof BatchModeState.Type

export const emptyBatchMode: BatchModeState = { submitted_through: null, requeue: [], batches: [], settled: [], last_polled_at: null }

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
  }),
  /** Batch mode (`--llm-mode batch`) only; absent or null otherwise. */
  batch_mode: Schema.optionalKey(Schema.NullOr(BatchModeState))
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
