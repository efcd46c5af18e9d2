import { Context, type Effect, type Stream } from "effect"
import type { DeadLetter, DeadLetterFilter, DeadLetterInput } from "../domain/DeadLetter.ts"
import type { StoreError } from "../domain/Errors.ts"
import type { AgenticAnalysis, ResultRow } from "../domain/Result.ts"
import type { SourceRecord } from "../domain/Source.ts"

export interface StoreCounts {
  /** Documents in `sentiment_analysis`. */
  readonly sources: number
  /** Documents in `agentic_analysis`. */
  readonly results: number
  /** Open records in `failed_analysis_records`. */
  readonly openDeadLetters: number
  /** Source documents after the given checkpoint (the backlog). */
  readonly backlog: number
  /** Source documents whose `_id` is not an ObjectId: the job reads in ObjectId order and never reaches them. */
  readonly unreadable: number
}

/** One `analysis_metadata.model_used` value among the stored results. */
export interface ModelUsed {
  readonly model: string
  /** Results that carry it. */
  readonly results: number
  /** The latest `analysis_metadata.processed_timestamp` among them. */
  readonly latest: string
}

export interface DeadLetterCount {
  readonly tag: string
  readonly count: number
}

/** A window of conversation time: `source_timestamp` in `[since, until)`, both ISO 8601 UTC like the stored values. */
export interface ResultWindow {
  readonly since: string
  readonly until: string
}

/**
 * The conversations the job reads and the results and dead letters it writes.
 * Implemented by `MongoConversationStore` (production) and `MemoryConversationStore`
 * (tests and the offline demo); one contract suite runs against both.
 */
export class ConversationStore extends Context.Service<ConversationStore, {
  /**
   * Source records with `_id` greater than `after` (all when null), in `_id` order, at most
   * `limit`. Only ObjectId `_id`s are read; a malformed `after` fails with reason `Invalid`.
   */
  readonly readAfter: (after: string | null, limit: number) => Stream.Stream<SourceRecord, StoreError>
  /** Source records with these ids, in `_id` order (ids that do not exist are left out). */
  readonly readByIds: (ids: ReadonlyArray<string>) => Stream.Stream<SourceRecord, StoreError>
  /** Inserts or replaces the result keyed by `source_object_id`. */
  readonly upsertResult: (result: AgenticAnalysis) => Effect.Effect<void, StoreError>
  /** Inserts or updates the dead letter keyed by `source_object_id` (attempts add up, status back to open). */
  readonly upsertDeadLetter: (input: DeadLetterInput) => Effect.Effect<void, StoreError>
  /** Marks an open dead letter resolved; true when there was one. */
  readonly resolveDeadLetter: (sourceId: string, at: string) => Effect.Effect<boolean, StoreError>
  /**
   * Marks these open dead letters for retry by the running instance (`at`), or clears the mark
   * (`null`); returns how many it changed.
   */
  readonly markRetryRequested: (ids: ReadonlyArray<string>, at: string | null) => Effect.Effect<number, StoreError>
  /** Dead letters matching the filter, latest failure first (or oldest first), ties by source id. */
  readonly listDeadLetters: (filter: DeadLetterFilter) => Effect.Effect<ReadonlyArray<DeadLetter>, StoreError>
  /** Dead letters with the given status grouped by `error.tag`, largest group first. */
  readonly countDeadLetters: (status: "open" | "resolved") => Effect.Effect<ReadonlyArray<DeadLetterCount>, StoreError>
  readonly counts: (after: string | null) => Effect.Effect<StoreCounts, StoreError>
  /** `counts(after).backlog` alone: one count instead of four. */
  readonly backlog: (after: string | null) => Effect.Effect<number, StoreError>
  /** The latest results by `analysis_metadata.processed_timestamp`, newest first. */
  readonly recentResults: (limit: number) => Effect.Effect<ReadonlyArray<AgenticAnalysis>, StoreError>
  /** Every `model_used` of the stored results, the most recently used first. */
  readonly modelsUsed: Effect.Effect<ReadonlyArray<ModelUsed>, StoreError>
  /** The `source_object_id`s of the results of one `model_used`, in ascending order. */
  readonly resultIds: (modelUsed: string) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /** The results of these source ids, in ascending id order (ids without a result are left out). */
  readonly resultsByIds: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<AgenticAnalysis>, StoreError>
  /**
   * The results whose conversation lies in the window, projected to what a report reads, as a
   * cursor-backed stream in no particular order (never all in memory at once).
   */
  readonly scanResults: (window: ResultWindow) => Stream.Stream<ResultRow, StoreError>
  /** The newest `source_timestamp` among the results (of one model when given); undefined when there are none. */
  readonly latestConversationTime: (modelUsed: string | undefined) => Effect.Effect<string | undefined, StoreError>
  /** Source documents whose ObjectId `_id` was created in `[since, until)`. */
  readonly countSourcesCreated: (since: Date, until: Date) => Effect.Effect<number, StoreError>
  /** Fails when the store cannot be reached. */
  readonly ping: Effect.Effect<void, StoreError>
}>()("cpa/ConversationStore") {}
