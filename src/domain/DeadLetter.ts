import { Schema } from "effect"

/** The typed error report kept for a record that could not be analyzed. */
export const ErrorReport = Schema.Struct({
  /** The error's tag: `InvalidSourceDocument`, `AnalyzerError`, `ModelOutputInvalid`. */
  tag: Schema.String,
  /** For `AnalyzerError`, the classified reason (`RateLimited`, `BadRequest`, ...). */
  reason: Schema.NullOr(Schema.String),
  message: Schema.String,
  retriable: Schema.Boolean,
  http_status: Schema.NullOr(Schema.Int),
  /** For `ModelOutputInvalid`, the offending field. */
  field: Schema.NullOr(Schema.String),
  /** Attempts made in the run that failed (1 + retries). */
  attempts: Schema.Int
})
export type ErrorReport = typeof ErrorReport.Type

export const DeadLetterStatus = Schema.Literals(["open", "resolved"])
export type DeadLetterStatus = typeof DeadLetterStatus.Type

/** A document of `failed_analysis_records`, one per source record (upserted by `source_object_id`). */
export const DeadLetter = Schema.Struct({
  source_object_id: Schema.String,
  conversation_id: Schema.String,
  job_name: Schema.String,
  analysis_version: Schema.String,
  status: DeadLetterStatus,
  error: ErrorReport,
  /** Attempts across all runs. */
  attempts: Schema.Int,
  /** How many runs ended in this dead letter. */
  failures: Schema.Int,
  first_failed_at: Schema.String,
  last_failed_at: Schema.String,
  resolved_at: Schema.NullOr(Schema.String),
  /** Set by `dead-letters retry` while another instance runs the job: it retries the record in its next batch. */
  retry_requested_at: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** Which failure was folded in last (batch mode: the Message Batch id); the same one again changes nothing. */
  last_occurrence: Schema.optionalKey(Schema.String)
})
export type DeadLetter = typeof DeadLetter.Type

/** What a run reports about one failure; the store folds it into the existing record. */
export interface DeadLetterInput {
  readonly source_object_id: string
  readonly job_name: string
  readonly analysis_version: string
  readonly error: ErrorReport
  readonly failed_at: string
  /**
   * What failed, when the same failure can be reported again (batch mode: the Message Batch id,
   * whose results are collected again after a crash): a report of the occurrence folded in
   * last changes nothing.
   */
  readonly occurrence?: string | undefined
}

export interface DeadLetterFilter {
  readonly status?: DeadLetterStatus | undefined
  /** Matches `error.tag` or `error.reason`. */
  readonly errorTag?: string | undefined
  readonly ids?: ReadonlyArray<string> | undefined
  /** Only source ids greater than this one (ObjectId hex strings order like the ids). */
  readonly afterId?: string | undefined
  /** Only those a `dead-letters retry` marked for the running instance. */
  readonly retryRequested?: true | undefined
  readonly limit?: number | undefined
  /** Oldest failure first (default: latest first). */
  readonly oldestFirst?: boolean | undefined
}

/** Folds a new failure into an existing dead letter (or starts one). Shared by both stores. */
export const foldDeadLetter = (existing: DeadLetter | undefined, input: DeadLetterInput): DeadLetter =>
  existing !== undefined && input.occurrence !== undefined && existing.last_occurrence === input.occurrence
    ? existing
    : folded(existing, input)

const folded = (existing: DeadLetter | undefined, input: DeadLetterInput): DeadLetter => {
  const lastOccurrence = input.occurrence ?? existing?.last_occurrence
  return {
    source_object_id: input.source_object_id,
    conversation_id: `conv_${input.source_object_id}`,
    job_name: input.job_name,
    analysis_version: input.analysis_version,
    status: "open",
    error: input.error,
    attempts: (existing?.attempts ?? 0) + input.error.attempts,
    failures: (existing?.failures ?? 0) + 1,
    first_failed_at: existing?.first_failed_at ?? input.failed_at,
    last_failed_at: input.failed_at,
    resolved_at: null,
    ...(lastOccurrence !== undefined ? { last_occurrence: lastOccurrence } : {})
  }
}
