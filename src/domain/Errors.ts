import { Schema } from "effect"

/**
 * How a failure affects the run. Decided once, where the error is created:
 * - `retriable`: try the same record again (exponential backoff, at most 3 retries);
 * - `record`: give up on this record (dead letter) and go on with the others;
 * - `fatal`: stop the run; nothing is dead-lettered (credentials rejected, store gone).
 */
export type Severity = "retriable" | "record" | "fatal"

/** A source document that does not have the shape the analysis needs. Never retried. */
export class InvalidSourceDocument extends Schema.TaggedError<InvalidSourceDocument>()("InvalidSourceDocument", {
  sourceId: Schema.String,
  /** The path of the offending field (`conversation.tweets[2].inbound`), when there is one. */
  field: Schema.NullOr(Schema.String),
  message: Schema.String
}) {
  get severity(): Severity {
    return "record"
  }
  get isRetryable(): boolean {
    return false
  }
}

export const AnalyzerErrorReason = Schema.Literals([
  "RateLimited",
  "Overloaded",
  "ServerError",
  "Connection",
  "Timeout",
  "BadRequest",
  "NotFound",
  "TooLarge",
  "Unprocessable",
  "Unauthorized",
  "Forbidden",
  "Credentials",
  /** The answer stopped at `max_tokens` before the tool call was complete: a retry repeats it. */
  "MaxTokens",
  /** The model declined (`stop_reason: "refusal"`): a retry repeats it. */
  "Refusal",
  "Unknown"
])
export type AnalyzerErrorReason = typeof AnalyzerErrorReason.Type

const retriableReasons: ReadonlySet<AnalyzerErrorReason> = new Set([
  "RateLimited",
  "Overloaded",
  "ServerError",
  "Connection",
  "Timeout"
])
// A 404 is the model or the deployment, never the record: every further request would repeat it.
const fatalReasons: ReadonlySet<AnalyzerErrorReason> = new Set(["Unauthorized", "Forbidden", "Credentials", "NotFound"])

/** A failed call to the model provider, classified by HTTP status or transport failure. */
export class AnalyzerError extends Schema.TaggedError<AnalyzerError>()("AnalyzerError", {
  reason: AnalyzerErrorReason,
  message: Schema.String,
  status: Schema.optionalKey(Schema.Int),
  /** Minimum wait before the next attempt, from a `retry-after` header. */
  retryAfterMs: Schema.optionalKey(Schema.Finite),
  /** The provider's error type (`invalid_request_error`, …): with `status`, what "the same error" means. */
  type: Schema.optionalKey(Schema.String),
  /** The provider's `x-should-retry` header, where it sent one: it overrides the status's default. */
  shouldRetry: Schema.optionalKey(Schema.Boolean)
}) {
  get severity(): Severity {
    if (fatalReasons.has(this.reason)) return "fatal"
    if (this.shouldRetry !== undefined) return this.shouldRetry ? "retriable" : "record"
    return retriableReasons.has(this.reason) ? "retriable" : "record"
  }
  get isRetryable(): boolean {
    return this.severity === "retriable"
  }
  /**
   * The provider or the network is failing, not this record (429, 529, 5xx, timeouts, lost
   * connections): when its retries run out, the batch stops and the record is tried again later
   * instead of being dead-lettered.
   */
  get isOutage(): boolean {
    return this.severity === "retriable" && retriableReasons.has(this.reason)
  }
  /** What "the same error" means for the run's stop rule: status and provider error type. */
  get signature(): string {
    return `${this.status ?? this.reason} ${this.type ?? this.reason}`
  }
}

/** The model answered, but its structured output is missing a field or out of range. Retriable. */
export class ModelOutputInvalid extends Schema.TaggedError<ModelOutputInvalid>()("ModelOutputInvalid", {
  field: Schema.String,
  message: Schema.String
}) {
  get severity(): Severity {
    return "retriable"
  }
  get isRetryable(): boolean {
    return true
  }
}

export const StoreErrorReason = Schema.Literals([
  "Unavailable",
  "Timeout",
  "Authentication",
  "Authorization",
  "Invalid",
  "Unknown"
])
export type StoreErrorReason = typeof StoreErrorReason.Type

/** A failed MongoDB (or in-memory) store operation. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  reason: StoreErrorReason,
  operation: Schema.String,
  message: Schema.String
}) {
  get severity(): Severity {
    return this.reason === "Unavailable" || this.reason === "Timeout" ? "retriable" : "fatal"
  }
  get isRetryable(): boolean {
    return this.severity === "retriable"
  }
}

/** A bad setting: flag, environment variable or YAML key. Exit code 2, nothing written. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  setting: Schema.String,
  message: Schema.String
}) {}

/**
 * Something that stops the whole run (exit code 1). Its message says what failed and why (the
 * store's or provider's words included); `sourceId` names the record being processed, if any.
 */
export class RunFatal extends Schema.TaggedError<RunFatal>()("RunFatal", {
  message: Schema.String,
  sourceId: Schema.optionalKey(Schema.String),
  /**
   * An outage that outlasted the retries: nothing is wrong with the job or its records, so a
   * periodic run waits (with backoff) and tries the batch again instead of exiting.
   */
  transient: Schema.optionalKey(Schema.Boolean)
}) {}

/**
 * Another live instance holds the job's lease, so a one-shot command (`--single-batch`,
 * `--reset-state`) did not start (exit code 3; `--wait` waits instead).
 */
export class LeaseHeld extends Schema.TaggedError<LeaseHeld>()("LeaseHeld", {
  /** Who holds it, for people: instance id, host, pid, since when. */
  holder: Schema.String,
  message: Schema.String
}) {}

/** Input a command cannot work with (a malformed or unknown id): exit code 2. */
export class InputError extends Schema.TaggedError<InputError>()("InputError", {
  message: Schema.String
}) {}

/** Errors a record can end with; each becomes a dead letter unless it is fatal. */
export type RecordError = InvalidSourceDocument | AnalyzerError | ModelOutputInvalid
