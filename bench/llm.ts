import * as path from "node:path"
import { Effect } from "effect"
import { estimateCost } from "../src/domain/Cost.ts"
import { decodeConversation } from "../src/domain/Source.ts"
import { estimateOutputTokens, estimateRunUsage } from "../src/analyzer/claude/Estimate.ts"
import { buildRubricPrompt, cacheFloorFor, CACHE_FLOOR_TOKENS, estimateTokens } from "../src/analyzer/claude/Prompt.ts"
import { buildMessagesBody, DEFAULT_ANTHROPIC_MODEL, kpiTool, renderConversation, type RequestOptions } from "../src/analyzer/claude/Request.ts"
import { loadSourceFile } from "../src/store/memory/Samples.ts"
import { benchSettings, REPO_ROOT, round } from "./support.ts"

const bytes = (s: string): number => Buffer.byteLength(s, "utf8")

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] ?? 0

/** Per 1,000 conversations, with and without rationales. */
export interface LlmVariant {
  readonly rationales: boolean
  readonly cached_prefix_tokens: number
  readonly output_tokens_per_conversation: number
  /** USD per 1,000 conversations at the configured prices: input (cache reads/writes included) and output. */
  readonly cost_per_1000_usd: number | undefined
  readonly output_cost_per_1000_usd: number | undefined
}

export interface LlmFigures {
  readonly token_estimate: string
  readonly model: string
  readonly requests: number
  readonly skipped_invalid: number
  readonly rubric_bytes: number
  readonly rubric_tokens: number
  readonly tool_bytes: number
  readonly tool_tokens: number
  /** Tools + system: what `cache_control` on the system block caches. */
  readonly cached_prefix_tokens: number
  /** The model's floor, and the largest floor of any model the README lists (the prefix is built to reach it). */
  readonly cache_floor_tokens: number
  readonly cache_floor_tokens_max: number
  readonly conversation_bytes_median: number
  readonly conversation_tokens_median: number
  readonly conversation_tokens_p90: number
  readonly conversation_tokens_max: number
  readonly conversation_tokens_mean: number
  readonly request_body_bytes_median: number
  /** Share of the input tokens of the whole sample run served from the cache (first request writes it). */
  readonly cached_input_share: number
  /** Same, when the first `concurrency` requests all start before the first answer (each writes the cache). */
  readonly cached_input_share_concurrent_start: number
  readonly concurrency: number
  /** Input cost of the sample run in USD at the configured prices, with and without caching. */
  readonly input_cost_usd_cached: number | undefined
  readonly input_cost_usd_uncached: number | undefined
  /** The answer: one tool call (estimated from a typical tool input), with rationales as configured. */
  readonly output_tokens_estimate: number
  readonly output_cost_usd: number | undefined
  /** Output tokens and the cost of 1,000 conversations, with and without rationales (`llm.rationales`). */
  readonly rationale_variants: ReadonlyArray<LlmVariant>
}

/**
 * The size of each Claude request over the sample conversations, built with the analyzers'
 * own request builder: the fixed part (tool definition + rubric system prompt) against the
 * per-conversation part, what prompt caching saves over the run, and what rationales add.
 */
export const runLlm = (options: { readonly concurrency: number }): LlmFigures => {
  const { settings, agent } = benchSettings({})
  const model = settings.model ?? DEFAULT_ANTHROPIC_MODEL
  const configured: RequestOptions = { rationales: settings.llmOptions.rationales, showUpstreamLabels: settings.llmOptions.showUpstreamLabels }
  const system = buildRubricPrompt(agent.rubric, configured)
  const sources = loadSourceFile(path.join(REPO_ROOT, settings.samplesPath))
  const conversations = sources.flatMap((r) => {
    const decoded = Effect.runSync(Effect.result(decodeConversation(r)))
    return decoded._tag === "Success" ? [decoded.success] : []
  })
  const bodies = conversations.map((conversation) =>
    buildMessagesBody({ model, maxTokens: settings.llmOptions.maxTokens, system, conversation, request: configured })
  )
  const toolJson = JSON.stringify(bodies[0]?.tools ?? [kpiTool(configured)])
  const rubricTokens = estimateTokens(system)
  const toolTokens = estimateTokens(toolJson)
  const prefix = rubricTokens + toolTokens
  const userTexts = conversations.map((c) => renderConversation(c, configured))
  const convTokens = userTexts.map(estimateTokens)
  const sortedTokens = [...convTokens].sort((a, b) => a - b)
  const sortedBytes = userTexts.map(bytes).sort((a, b) => a - b)
  const bodyBytes = bodies.map((b) => bytes(JSON.stringify(b))).sort((a, b) => a - b)

  const n = conversations.length
  const floor = cacheFloorFor(model)
  const totalInput = n * prefix + convTokens.reduce((a, b) => a + b, 0)
  const cachedAfter = (misses: number) => (prefix >= floor ? Math.max(0, n - misses) * prefix : 0)
  const price = Object.entries(settings.llmOptions.prices).find(([name]) => model.startsWith(name))?.[1]
  const cached = cachedAfter(1)
  const output = estimateOutputTokens(configured)
  const writes = prefix >= floor ? prefix : 0

  // 1,000 conversations shaped like the samples (the sample run scaled), at the configured concurrency.
  const variant = (rationales: boolean): LlmVariant => {
    const request = { ...configured, rationales }
    const variantSystem = buildRubricPrompt(agent.rubric, request)
    const usage = estimateRunUsage({ model, system: variantSystem, request, conversations, concurrency: options.concurrency })
    const cost = estimateCost(model, usage, settings.llmOptions.prices)
    const outputCost = estimateCost(model, { input_tokens: 0, output_tokens: usage.output_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }, settings.llmOptions.prices)
    return {
      rationales,
      cached_prefix_tokens: estimateTokens(JSON.stringify([kpiTool(request)])) + estimateTokens(variantSystem),
      output_tokens_per_conversation: estimateOutputTokens(request),
      cost_per_1000_usd: cost === undefined ? undefined : round(cost * 1000 / n, 2),
      output_cost_per_1000_usd: outputCost === undefined ? undefined : round(outputCost * 1000 / n, 2)
    }
  }

  return {
    token_estimate: "characters / 4 (estimateTokens in src/analyzer/claude/Prompt.ts); no tokenizer offline",
    model,
    requests: n,
    skipped_invalid: sources.length - n,
    rubric_bytes: bytes(system),
    rubric_tokens: rubricTokens,
    tool_bytes: bytes(toolJson),
    tool_tokens: toolTokens,
    cached_prefix_tokens: prefix,
    cache_floor_tokens: floor,
    cache_floor_tokens_max: CACHE_FLOOR_TOKENS,
    conversation_bytes_median: percentile(sortedBytes, 0.5),
    conversation_tokens_median: percentile(sortedTokens, 0.5),
    conversation_tokens_p90: percentile(sortedTokens, 0.9),
    conversation_tokens_max: sortedTokens[sortedTokens.length - 1] ?? 0,
    conversation_tokens_mean: round(convTokens.reduce((a, b) => a + b, 0) / Math.max(1, n), 1),
    request_body_bytes_median: percentile(bodyBytes, 0.5),
    cached_input_share: round(cached / totalInput, 3),
    cached_input_share_concurrent_start: round(cachedAfter(options.concurrency) / totalInput, 3),
    concurrency: options.concurrency,
    input_cost_usd_cached: price === undefined
      ? undefined
      : round(((totalInput - cached - writes) * price.input + writes * price.cache_write + cached * price.cache_read) / 1e6, 4),
    input_cost_usd_uncached: price === undefined ? undefined : round(totalInput * price.input / 1e6, 4),
    output_tokens_estimate: output,
    output_cost_usd: price === undefined ? undefined : round(n * output * price.output / 1e6, 4),
    rationale_variants: [variant(true), variant(false)]
  }
}
