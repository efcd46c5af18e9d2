import Anthropic from "@anthropic-ai/sdk"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { AnalyzerError, ConfigError } from "../../domain/Errors.ts"
import type { Conversation } from "../../domain/Source.ts"
import { isHttpUrl } from "../../domain/Text.ts"
import { Analyzer } from "../../services/Analyzer.ts"
import { classifySdkError } from "./Errors.ts"
import { estimateRunUsage } from "./Estimate.ts"
import { buildRubricPrompt, cacheFloorFor, prefixTokens } from "./Prompt.ts"
import { buildMessagesBody, DEFAULT_ANTHROPIC_MODEL, kpiTool, type RequestOptions } from "./Request.ts"
import { decodeAnalysis } from "./Response.ts"
import { RateLimiter } from "./RateLimiter.ts"
import { Settings } from "../../services/Settings.ts"

export const DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"

/** `ANTHROPIC_API_KEY`, if set (an empty value counts as unset). */
export const apiKeyConfig = Config.option(Config.Redacted("ANTHROPIC_API_KEY"))

/** Header-safe: printable ASCII without spaces. Anything else would fail on every request. */
export const isUsableSecret = (value: string): boolean => /^[\x21-\x7e]+$/.test(value)

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
      const settings = yield* Settings
      const limiter = yield* RateLimiter
      const apiKey = yield* readApiKey
      const baseURL = yield* readBaseUrl
      const model = settings.model ?? DEFAULT_ANTHROPIC_MODEL
      const request: RequestOptions = { rationales: settings.llmOptions.rationales, showUpstreamLabels: settings.llmOptions.showUpstreamLabels }
      const system = buildRubricPrompt(settings.agent.rubric, request)
      const prefix = prefixTokens([kpiTool(request)], system)
      const client = new Anthropic({
        apiKey: Redacted.value(apiKey),
        // SDK 1.x sends the key as a bearer token; gateways behind ANTHROPIC_BASE_URL may read
        // only the classic header, and the API itself prefers x-api-key when both are present.
        defaultHeaders: { "x-api-key": Redacted.value(apiKey) },
        baseURL,
        maxRetries: 0,
        timeout: settings.llmOptions.timeoutMs
      })
      const ctx = { provider: "Anthropic API", secrets: [Redacted.value(apiKey)] }
      yield* Effect.logInfo(
        `analyzer: Claude direct, model ${model}, ${baseURL}, cached prefix (tool + rubric) ~${prefix} tokens, rationales ${request.rationales ? "on" : "off"}`
      )
      if (prefix < cacheFloorFor(model)) {
        yield* Effect.logWarning(`analyzer: the cached prefix (~${prefix} tokens) is below ${model}'s cache floor of ${cacheFloorFor(model)}; it may not be cached`)
      }

      const analyze = Effect.fn("AnthropicAnalyzer.analyze")(function*(conversation: Conversation) {
        const body = buildMessagesBody({ model, maxTokens: settings.llmOptions.maxTokens, system, conversation, request })
        yield* limiter.take
        const raw = yield* Effect.tryPromise({
          try: (signal) => client.messages.create(body, { signal }),
          catch: (e) => classifySdkError(e, ctx)
        })
        return yield* decodeAnalysis(raw, model, request.rationales ? conversation : undefined)
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
