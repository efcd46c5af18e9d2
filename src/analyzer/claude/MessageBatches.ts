import type { MessageBatch, MessageBatchIndividualResponse } from "@anthropic-ai/sdk/resources/messages/batches"
import { Effect, Layer, Redacted, Stream } from "effect"
import type { AnalyzerError, ConfigError } from "../../domain/Errors.ts"
import type { Conversation } from "../../domain/Source.ts"
import { type BatchInfo, BatchProvider, type BatchRequest, type BatchResultLine } from "../../services/BatchProvider.ts"
import { Settings } from "../../services/Settings.ts"
import { claudeDirect } from "./AnthropicAnalyzer.ts"
import { batchBody, type EncodedRequest, makeRequestEncoder } from "./BatchBody.ts"
import { type ClassifyContext, classifySdkError, classifyStatus } from "./Errors.ts"
import { buildMessagesBody } from "./Request.ts"
import { decodeAnalysis } from "./Response.ts"

/** The status an `errored` result's error type stands for, so it is classified as online. */
const STATUS_OF_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529
}

export const errorOfResult = (error: unknown, ctx: ClassifyContext): AnalyzerError => {
  const type = (error as { error?: { type?: unknown } } | undefined)?.error?.type
  return classifyStatus(typeof type === "string" ? STATUS_OF_TYPE[type] ?? 500 : 500, undefined, error, ctx)
}

const toInfo = (b: MessageBatch): BatchInfo => ({
  id: b.id,
  status: b.processing_status,
  createdAt: b.created_at,
  endedAt: b.ended_at ?? null,
  expiresAt: b.expires_at ?? null,
  counts: {
    processing: b.request_counts.processing,
    succeeded: b.request_counts.succeeded,
    errored: b.request_counts.errored,
    canceled: b.request_counts.canceled,
    expired: b.request_counts.expired
  }
})

const toLine = (r: MessageBatchIndividualResponse, ctx: ClassifyContext): BatchResultLine => {
  switch (r.result.type) {
    case "succeeded":
      return { _tag: "succeeded", customId: r.custom_id, message: r.result.message }
    case "errored":
      return { _tag: "errored", customId: r.custom_id, error: errorOfResult(r.result.error, ctx) }
    case "canceled":
      return { _tag: "canceled", customId: r.custom_id }
    default:
      return { _tag: "expired", customId: r.custom_id }
  }
}

/**
 * `BatchProvider` on `client.messages.batches` of `@anthropic-ai/sdk`: the client built as the
 * online adapter builds it (key, `ANTHROPIC_BASE_URL`, `maxRetries: 0`), the requests with the
 * online request builder (one-hour prompt cache: a batch's requests run over hours) and uploaded
 * as a stream (`BatchBody.ts`), and each `succeeded` message decoded by the online decoder.
 */
export class MessageBatches {
  static readonly layer: Layer.Layer<BatchProvider, AnalyzerError | ConfigError, Settings> = Layer.effect(
    BatchProvider,
    Effect.gen(function*() {
      const { settings, apiKey, baseURL, model, request, system, client } = yield* claudeDirect
      const ctx: ClassifyContext = { provider: "Anthropic Message Batches API", secrets: [Redacted.value(apiKey)] }
      const call = <A>(f: (signal: AbortSignal) => Promise<A>) => Effect.tryPromise({ try: f, catch: (e) => classifySdkError(e, ctx) })
      yield* Effect.logInfo(`batch mode: Message Batches API, model ${model}, ${baseURL}`)

      const encode = makeRequestEncoder()
      const buildRequest = (conversation: Conversation): BatchRequest => {
        const params = buildMessagesBody({ model, maxTokens: settings.llmOptions.maxTokens, system, conversation, request, cacheTtl: "1h" })
        const body = encode(conversation.sourceId, params)
        return { customId: conversation.sourceId, bytes: body.bytes, body }
      }

      return BatchProvider.of({
        model,
        buildRequest,
        // `client.messages.batches.create` posts this path with the requests serialized whole;
        // the same post with the body streamed (see `batchBody`).
        create: (requests) =>
          call((signal) => {
            const body = batchBody(requests.map((r) => r.body as EncodedRequest))
            return client.post<MessageBatch>("/v1/messages/batches", {
              body: body.stream,
              headers: { "content-type": "application/json", "content-length": String(body.length) },
              signal
            })
          }).pipe(Effect.map(toInfo), Effect.withSpan("MessageBatches.create")),
        retrieve: (id) => call((signal) => client.messages.batches.retrieve(id, {}, { signal })).pipe(Effect.map(toInfo)),
        cancel: (id) => call((signal) => client.messages.batches.cancel(id, {}, { signal })).pipe(Effect.map(toInfo)),
        list: ({ createdAfter, limit }) =>
          call(async (signal) => {
            const out: Array<BatchInfo> = []
            for await (const b of client.messages.batches.list({ limit: 100 }, { signal })) {
              out.push(toInfo(b))
              if (createdAfter !== undefined && b.created_at < createdAfter) break
              if (limit !== undefined && out.length >= limit) break
            }
            return out
          }),
        results: (id) =>
          Stream.unwrap(
            call((signal) => client.messages.batches.results(id, {}, { signal })).pipe(
              Effect.map((decoder) => Stream.fromAsyncIterable(decoder, (e) => classifySdkError(e, ctx)).pipe(Stream.map((r) => toLine(r, ctx))))
            )
          ),
        decode: (message, conversation) => decodeAnalysis(message, model, settings.llmOptions.rationales ? conversation : undefined)
      })
    })
  )
}
