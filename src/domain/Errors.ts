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
const fatalReasons: ReadonlySet<AnalyzerErrorReason> = new Set(["Unauthorized", "Forbidden", "Credentials"])

/** A failed call to the model provider, classified by HTTP status or transport failure. */
export class AnalyzerError extends Schema.TaggedError<AnalyzerError>()("AnalyzerError", {
  reason: AnalyzerErrorReason,
  message: Schema.String,
  status: Schema.optionalKey(Schema.Int),
  /** Minimum wait before the next attempt, from a `retry-after` header. */
  retryAfterMs: Schema.optionalKey(Schema.Finite)
}) {
  get severity(): Severity {
    return fatalReasons.has(this.reason) ? "fatal" : retriableReasons.has(this.reason) ? "retriable" : "record"
  }
  get isRetryable(): boolean {
    return this.severity === "retriable"
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
  sourceId: Schema.optionalKey(Schema.String)
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
