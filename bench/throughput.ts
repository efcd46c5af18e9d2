import { Effect, Layer } from "effect"
import { AnthropicAnalyzer } from "../src/analyzer/claude/AnthropicAnalyzer.ts"
import { RateLimiter } from "../src/analyzer/claude/RateLimiter.ts"
import { runBatch } from "../src/programs/Batch.ts"
import { MemoryConversationStore, makeMemoryStoreState } from "../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { envLayer } from "../test/support/claudeFixtures.ts"
import { records, runServices } from "../test/support/fixtures.ts"
import { startLoopbackClaude } from "../test/support/loopbackClaude.ts"
import { benchSettings, log, quiet, round, timed } from "./support.ts"

/**
 * The job with its default settings (the repository's YAML: `--concurrency` 32 as the ceiling,
 * no fixed request rate) against the loopback Claude server: the real Anthropic adapter and
 * `runBatch`, in-memory stores, one batch.
 */
export interface LoopbackRun {
  readonly records: number
  readonly seconds: number
  readonly requests: number
  readonly answered_429: number
  /** 429s as a share of all model requests. */
  readonly share_429: number
  /** Accepted requests a second from when the bucket's first burst was spent to the end. */
  readonly steady_requests_per_s: number
  /** The simulated limit in requests a second (server time scaled to real time). */
  readonly limit_requests_per_s: number | undefined
  /** steady_requests_per_s / limit_requests_per_s. */
  readonly share_of_limit: number | undefined
  /** Answers that wrote the (simulated) prompt cache in this one batch. */
  readonly cache_writes: number
  /** Cache reads / all input tokens (uncached + writes + reads), from the batch's usage. */
  readonly cached_input_share: number
  readonly records_persisted: number
  /** Seconds from the start of the batch until the first burst was spent, and requests measured after it. */
  readonly burst_spent_after_s: number | undefined
  readonly steady_requests: number
}

export const runAgainstLoopback = async (options: {
  readonly records: number
  readonly latencyMs: number
  /** A token bucket: requests per server minute, and the server minute in real milliseconds. */
  readonly limit?: { readonly requestsPerMinute: number; readonly minuteMs: number }
}): Promise<LoopbackRun> => {
  const fake = await startLoopbackClaude({
    delayMs: options.latencyMs,
    simulateCache: true,
    ...(options.limit !== undefined ? { rateLimit: options.limit } : {})
  })
  try {
    const store = makeMemoryStoreState(records(options.records))
    const { layer: settings, settings: s } = benchSettings({ batchSize: options.records, mongoUri: "memory" })
    const analyzer = AnthropicAnalyzer.layer.pipe(
      Layer.provide(RateLimiter.layer),
      Layer.provide(settings),
      Layer.provide(envLayer({ ANTHROPIC_API_KEY: "bench-key", ANTHROPIC_BASE_URL: fake.url }))
    )
    log(`loopback run: ${options.records} records, ${options.latencyMs} ms latency, concurrency ceiling ${s.concurrency}, ` +
      `${options.limit !== undefined ? `${options.limit.requestsPerMinute} requests per ${options.limit.minuteMs} ms` : "no limit"}`)
    const layer = Layer.mergeAll(runServices, MemoryConversationStore.layer(store), MemoryJobStateStore.layer(), analyzer, settings)
    const started = Date.now()
    const { seconds, value: batch } = await timed(() => Effect.runPromise(runBatch().pipe(Effect.provide(layer), quiet)))
    const { accepted, drainedAt, rejected } = fake.limited()
    const requests = fake.total()
    // Steady state: from the first moment the bucket was (nearly) empty to the last request.
    const after = drainedAt === undefined ? [] : accepted.filter((t) => t > drainedAt)
    const to = after[after.length - 1]
    const steady = drainedAt !== undefined && to !== undefined && to > drainedAt ? after.length / ((to - drainedAt) / 1000) : 0
    const limitPerS = options.limit !== undefined ? options.limit.requestsPerMinute / (options.limit.minuteMs / 1000) : undefined
    const u = batch.usage
    const input = u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
    return {
      records: options.records,
      seconds: round(seconds, 2),
      requests,
      answered_429: rejected,
      share_429: round(rejected / Math.max(1, requests), 4),
      steady_requests_per_s: round(steady, 1),
      limit_requests_per_s: limitPerS,
      share_of_limit: limitPerS !== undefined ? round(steady / limitPerS, 3) : undefined,
      cache_writes: fake.cacheWrites(),
      cached_input_share: round(u.cache_read_input_tokens / Math.max(1, input), 3),
      records_persisted: batch.records_persisted,
      burst_spent_after_s: drainedAt === undefined ? undefined : round((drainedAt - started) / 1000, 2),
      steady_requests: after.length
    }
  } finally {
    await fake.close()
  }
}
