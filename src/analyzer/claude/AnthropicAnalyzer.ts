import Anthropic, { APIError } from "@anthropic-ai/sdk"
import { Cause, Config, Effect, type Exit, Layer, Option, Redacted } from "effect"
import { AnalyzerError, ConfigError } from "../../domain/Errors.ts"
import type { Conversation } from "../../domain/Source.ts"
import { isHttpUrl } from "../../domain/Text.ts"
import { Analyzer } from "../../services/Analyzer.ts"
import { classifySdkError, retryAfterMs } from "./Errors.ts"
import { estimateRunUsage } from "./Estimate.ts"
import { buildRubricPrompt, prefixTokens } from "./Prompt.ts"
import { buildMessagesBody, DEFAULT_ANTHROPIC_MODEL, kpiTool, type RequestOptions } from "./Request.ts"
import { decodeAnalysis } from "./Response.ts"
import { type Feedback, RateLimiter } from "./RateLimiter.ts"
import { checkCachePrefix, warnIfUnpriced } from "./StartupChecks.ts"
import { apiKeyConfig } from "./Credentials.ts"
import { Settings } from "../../services/Settings.ts"

export const DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"

/** Header-safe: printable ASCII without spaces. Anything else would fail on every request. */
export const isUsableSecret = (value: string): boolean => /^[\x21-\x7e]+$/.test(value)

/**
 * What both Claude-direct adapters (online and Message Batches) start from: the key, the
 * endpoint, the model, the request options, the rubric prompt and the SDK client.
 */
export const claudeDirect = Effect.gen(function*() {
  const settings = yield* Settings
  const apiKey = yield* readApiKey
  const baseURL = yield* readBaseUrl
  const model = settings.model ?? DEFAULT_ANTHROPIC_MODEL
  const request: RequestOptions = { rationales: settings.llmOptions.rationales, showUpstreamLabels: settings.llmOptions.showUpstreamLabels }
  const system = buildRubricPrompt(settings.agent.rubric, request)
  const client = makeClient(apiKey, baseURL, settings.llmOptions.timeoutMs)
  return { settings, apiKey, baseURL, model, request, system, client }
})

/**
 * The SDK client both the online adapter and the Message Batches adapter use. Its own retries
 * are off: the job's retry policy is the only one.
 */
export const makeClient = (apiKey: Redacted.Redacted<string>, baseURL: string, timeoutMs: number): Anthropic =>
  new Anthropic({
    apiKey: Redacted.value(apiKey),
    // SDK 1.x sends the key as a bearer token; gateways behind ANTHROPIC_BASE_URL may read
    // only the classic header, and the API itself prefers x-api-key when both are present.
    defaultHeaders: { "x-api-key": Redacted.value(apiKey) },
    baseURL,
    maxRetries: 0,
    timeout: timeoutMs
  })

export const readApiKey = Effect.gen(function*() {
  const key = yield* apiKeyConfig.pipe(Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>()))
  if (Option.isNone(key)) {
    return yield* new AnalyzerError({
      reason: "Credentials",
      message: "ANTHROPIC_API_KEY is not set: Claude direct (--llm anthropic) needs an API key"
    })
  }
  if (!isUsableSecret(Redacted.value(key.value))) {
    return yield* new AnalyzerError({
      reason: "Credentials",
      message: "ANTHROPIC_API_KEY is not usable: it contains spaces, line breaks or non-ASCII characters"
    })
  }
  return key.value
})

export const readBaseUrl = Effect.gen(function*() {
  const configured = yield* Config.option(Config.String("ANTHROPIC_BASE_URL")).pipe(
    Effect.orElseSucceed(() => Option.none<string>())
  )
  if (Option.isNone(configured)) return DEFAULT_ANTHROPIC_BASE_URL
  const value = configured.value.trim()
  if (!isHttpUrl(value)) {
    return yield* new ConfigError({
      setting: "ANTHROPIC_BASE_URL",
      message: `ANTHROPIC_BASE_URL (environment): expected an http(s) URL, got ${JSON.stringify(value)}`
    })
  }
  return value
})

/** What a failed request tells the throughput controller: its status, headers and `retry-after`. */
const feedbackOfFailure = (exit: Exit.Exit<unknown, { readonly error: AnalyzerError; readonly headers: Headers | undefined }>): Feedback => {
  if (exit._tag === "Success") return { status: undefined }
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "None") return { status: undefined }
  return { status: failure.value.error.status, headers: failure.value.headers, retryAfterMs: retryAfterMs(failure.value.headers) }
}

/**
 * The model must exist before the first record is read: `models.retrieve` answers 404 for a
 * mistyped or retired id, which is a configuration error (exit 2), not a batch of dead letters.
 * Refused credentials fail here too; any other failure (the endpoint unreachable through a
 * gateway) is only logged, and the first request will tell.
 */
const checkModel = (client: Anthropic, model: string, ctx: { provider: string; secrets: Array<string> }) =>
  Effect.tryPromise({ try: (signal) => client.models.retrieve(model, {}, { signal }), catch: (e) => classifySdkError(e, ctx) }).pipe(
    Effect.asVoid,
    Effect.catch((e): Effect.Effect<void, AnalyzerError | ConfigError> =>
      e.reason === "NotFound"
        ? Effect.fail(
          new ConfigError({
            setting: "llm.model",
            message: `unknown model ${model}: ${e.message}. Set --model / CPA_MODEL / llm.model to a current Claude model id (e.g. claude-sonnet-4-6).`
          })
        )
        : e.severity === "fatal"
        ? Effect.fail(e)
        : Effect.logWarning(`analyzer: could not check model ${model} (${e.message}); going on`)
    )
  )

/**
 * Claude through the Anthropic API, with `@anthropic-ai/sdk`. The SDK does not retry
 * (`maxRetries: 0`) and times out after `llm.timeout_seconds`: the batch owns the retry policy.
 * The key comes from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` is honoured (both read with
 * `Config`, so a test's `ConfigProvider` points the client at a loopback server).
 */
export class AnthropicAnalyzer {
  static readonly layer: Layer.Layer<Analyzer, AnalyzerError | ConfigError, Settings | RateLimiter> = Layer.effect(
    Analyzer,
    Effect.gen(function*() {
      const limiter = yield* RateLimiter
      const { settings, apiKey, baseURL, model, request, system, client } = yield* claudeDirect
      const prefix = prefixTokens([kpiTool(request)], system)
      const ctx = { provider: "Anthropic API", secrets: [Redacted.value(apiKey)] }
      yield* Effect.logInfo(
        `analyzer: Claude direct, model ${model}, ${baseURL}, rationales ${request.rationales ? "on" : "off"}`
      )
      yield* checkModel(client, model, ctx)
      const tools = [kpiTool(request)]
      // The real prefix where the API can count it; the estimate where it cannot.
      const counted = yield* Effect.tryPromise(() =>
        client.messages.countTokens({ model, system: [{ type: "text", text: system }], tools, messages: [{ role: "user", content: "." }] })
      ).pipe(
        Effect.map((c) => c.input_tokens),
        Effect.tapError((e) => Effect.logDebug(`analyzer: token counting failed (${String(e)}); using the estimate`)),
        Effect.option
      )
      yield* checkCachePrefix(model, counted._tag === "Some" ? counted.value : prefix, counted._tag === "Some", settings.llmOptions.cacheFloors)
      yield* warnIfUnpriced(model, settings.llmOptions.prices)

      const analyze = Effect.fn("AnthropicAnalyzer.analyze")(function*(conversation: Conversation) {
        const body = buildMessagesBody({ model, maxTokens: settings.llmOptions.maxTokens, system, conversation, request })
        const raw = yield* limiter.withPermit(
          Effect.tryPromise({
            try: (signal) => client.messages.create(body, { signal }).withResponse(),
            catch: (e) => ({ error: classifySdkError(e, ctx), headers: e instanceof APIError ? e.headers : undefined })
          }),
          (exit): Feedback =>
            exit._tag === "Success"
              ? {
                status: exit.value.response.status,
                headers: exit.value.response.headers,
                inputTokens: exit.value.data.usage.input_tokens + (exit.value.data.usage.cache_creation_input_tokens ?? 0),
                outputTokens: exit.value.data.usage.output_tokens
              }
              : feedbackOfFailure(exit)
        ).pipe(Effect.mapError((f) => f.error))
        return yield* decodeAnalysis(raw.data, model, request.rationales ? conversation : undefined)
      })

      return Analyzer.of({
        provider: "anthropic",
        analyze,
        estimateUsage: (conversations, concurrency) => ({
          model,
          usage: estimateRunUsage({ model, system, request, conversations, concurrency })
        })
      })
    })
  )
}
