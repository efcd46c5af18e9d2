import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Layer, Option } from "effect"
import { type AnalyzerError, ConfigError } from "../domain/Errors.ts"
import type { Analyzer } from "../services/Analyzer.ts"
import { apiKeyConfig, serviceKeyConfig } from "./claude/Credentials.ts"
import type { BatchProvider } from "../services/BatchProvider.ts"
import { type Provider, Settings } from "../services/Settings.ts"

const isSet = <A>(config: Effect.Effect<Option.Option<A>, unknown>) =>
  config.pipe(Effect.map(Option.isSome), Effect.orElseSucceed(() => false))

/**
 * The provider when `--llm` / `CPA_LLM` / `llm.provider` leaves it open: Claude direct when
 * `ANTHROPIC_API_KEY` is set, else SAP AI Core when a service key is found, else a `ConfigError`.
 */
export const chooseProvider: Effect.Effect<Provider, ConfigError, Settings> = Effect.gen(function*() {
  const settings = yield* Settings
  if (settings.llm !== undefined) return settings.llm
  if (yield* isSet(apiKeyConfig)) return "anthropic"
  const file = settings.llmOptions.aicoreCredentialsPath
  if ((yield* isSet(serviceKeyConfig)) || fs.existsSync(path.resolve(file))) return "aicore"
  return yield* new ConfigError({
    setting: "llm.provider",
    message: `no model credentials: set ANTHROPIC_API_KEY (Claude direct) or provide an SAP AI Core service key (${file} or AICORE_SERVICE_KEY), or run with --llm heuristic`
  })
})

/**
 * The `Analyzer` of this run, chosen by `Settings.llm` (or by the credentials present). The
 * Claude adapters share one client-side rate limiter; credentials are checked while the layer
 * is built, so a missing or refused key stops the run before the first record. Each adapter is
 * loaded only when chosen: the Anthropic SDK alone is ~270 modules a heuristic run never needs.
 */
export const analyzerLayer: Layer.Layer<Analyzer, AnalyzerError | ConfigError, Settings> = Layer.unwrap(
  Effect.gen(function*() {
    const provider = yield* chooseProvider
    yield* Effect.logDebug(`analyzer: provider ${provider}`)
    switch (provider) {
      case "heuristic":
        return (yield* Effect.promise(() => import("./heuristic/HeuristicAnalyzer.ts"))).HeuristicAnalyzer.layer
      case "anthropic": {
        const [{ AnthropicAnalyzer }, { RateLimiter }] = yield* Effect.promise(() =>
          Promise.all([import("./claude/AnthropicAnalyzer.ts"), import("./claude/RateLimiter.ts")])
        )
        return AnthropicAnalyzer.layer.pipe(Layer.provide(RateLimiter.layer))
      }
      case "aicore": {
        const [{ AiCoreAnalyzer }, { RateLimiter }] = yield* Effect.promise(() =>
          Promise.all([import("./claude/AiCoreAnalyzer.ts"), import("./claude/RateLimiter.ts")])
        )
        return AiCoreAnalyzer.layer.pipe(Layer.provide(RateLimiter.layer))
      }
    }
  })
)

/**
 * The Message Batches API of batch mode: Claude direct only. When `--llm` is left open and the
 * credentials found are AI Core's, that is the same one-line settings error as `--llm aicore`.
 */
export const batchProviderLayer: Layer.Layer<BatchProvider, AnalyzerError | ConfigError, Settings> = Layer.unwrap(
  Effect.gen(function*() {
    const provider = yield* chooseProvider
    if (provider !== "anthropic") {
      return yield* new ConfigError({
        setting: "llm.mode",
        message: `llm.mode: batch mode needs Claude direct (ANTHROPIC_API_KEY): ${provider === "aicore" ? "SAP AI Core has no Message Batches API" : "the heuristic makes no model calls to batch"}`
      })
    }
    return (yield* Effect.promise(() => import("./claude/MessageBatches.ts"))).MessageBatches.layer
  })
)
