import { Context, type Effect, type Stream } from "effect"
import type { ApiBatchCounts } from "../domain/JobState.ts"
import type { AnalyzerError, ModelOutputInvalid } from "../domain/Errors.ts"
import type { Conversation } from "../domain/Source.ts"
import type { Analysis } from "./Analyzer.ts"

/** One API batch as the provider reports it. */
export interface BatchInfo {
  readonly id: string
  readonly status: "in_progress" | "canceling" | "ended"
  readonly createdAt: string
  readonly endedAt: string | null
  readonly expiresAt: string | null
  readonly counts: ApiBatchCounts
}

/** One request, built and serialized: `bytes` counts towards the API's size limit. */
export interface BatchRequest {
  readonly customId: string
  readonly bytes: number
  readonly body: unknown
}

/** One line of a batch's results file. `errored` carries the classified error. */
export type BatchResultLine =
  | { readonly _tag: "succeeded"; readonly customId: string; readonly message: unknown }
  | { readonly _tag: "errored"; readonly customId: string; readonly error: AnalyzerError }
  | { readonly _tag: "canceled"; readonly customId: string }
  | { readonly _tag: "expired"; readonly customId: string }

/**
 * Anthropic's Message Batches API: requests built like online ones, created in bulk, processed
 * on the provider's side within 24 hours at half price, results streamed as JSON lines.
 * Implemented by `MessageBatches` (the SDK); programs never see the SDK.
 */
export class BatchProvider extends Context.Service<BatchProvider, {
  readonly model: string
  /** The same forced-tool request as online mode, `custom_id` = the source id. */
  readonly buildRequest: (conversation: Conversation) => BatchRequest
  readonly create: (requests: ReadonlyArray<BatchRequest>) => Effect.Effect<BatchInfo, AnalyzerError>
  readonly retrieve: (batchId: string) => Effect.Effect<BatchInfo, AnalyzerError>
  /** Batches newest first, down to (and including) the first one created before `createdAfter`. */
  readonly list: (options: { readonly createdAfter?: string | undefined; readonly limit?: number | undefined }) => Effect.Effect<ReadonlyArray<BatchInfo>, AnalyzerError>
  readonly cancel: (batchId: string) => Effect.Effect<BatchInfo, AnalyzerError>
  /** The results, streamed (never the whole file in memory). */
  readonly results: (batchId: string) => Stream.Stream<BatchResultLine, AnalyzerError>
  /** A `succeeded` line's message decoded and checked exactly as an online answer. */
  readonly decode: (message: unknown, conversation: Conversation) => Effect.Effect<Analysis, AnalyzerError | ModelOutputInvalid>
}>()("cpa/BatchProvider") {}
