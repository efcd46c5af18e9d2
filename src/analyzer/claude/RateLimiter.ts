import { Clock, Context, Deferred, Effect, type Exit, Layer } from "effect"
import { Settings } from "../../services/Settings.ts"

/** What one model request told us about the provider's limits. */
export interface Feedback {
  /** The HTTP status; undefined when no answer came (timeout, lost connection, interrupted). */
  readonly status: number | undefined
  readonly headers?: Headers | undefined
  /** From `retry-after`, already parsed. */
  readonly retryAfterMs?: number | undefined
  /** Tokens the request counted against the input-tokens limit (uncached input + cache writes). */
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
}

export interface ThroughputOptions {
  /** Fewest requests in flight the controller goes down to. */
  readonly floor: number
  /** Most requests in flight (`--concurrency`). */
  readonly ceiling: number
  /** An optional fixed upper bound on requests a minute (`llm.max_requests_per_minute`). */
  readonly maxPerMinute?: number | undefined
  /** How long the provider keeps the prompt cache after the last request that used it. */
  readonly cacheTtlMs?: number
}

/** What the controller currently allows; for logs, the bench and tests. */
export interface ThroughputState {
  /** Requests allowed in flight (between the floor and the ceiling). */
  readonly limit: number
  readonly inFlight: number
  /** Least milliseconds between two request starts (0: not paced). */
  readonly intervalMs: number
  /** Requests a minute the provider's headers announced, if any. */
  readonly learnedPerMinute: number | undefined
  /** Epoch ms until which no request starts (a `retry-after`, an exhausted limit). */
  readonly pausedUntil: number
}

/** The default lifetime of Anthropic's ephemeral prompt cache. */
export const CACHE_TTL_MS = 5 * 60_000

const num = (headers: Headers | undefined, name: string): number | undefined => {
  const v = headers?.get(name)
  if (v == null || v.trim() === "") return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}
const date = (headers: Headers | undefined, name: string): number | undefined => {
  const v = headers?.get(name)
  if (v == null) return undefined
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : t
}

/**
 * Paces the model requests of the whole process (one instance shared by every concurrent
 * `analyze` call), on Effect's `Clock` so tests drive it with `TestClock`:
 *
 * - **Requests in flight** adapt between a floor and the ceiling, like TCP: +1 per success
 *   while below the last known safe level (so it doubles each round trip), +1/limit above it;
 *   halved on a 429 or 529 (once per round trip). This alone works where the provider sends no
 *   rate-limit headers (SAP AI Core).
 * - **Request rate**: `anthropic-ratelimit-requests-limit` (and the input/output-token limits
 *   divided by the tokens a request uses) set the least spacing between two starts, so the job
 *   runs at the limit instead of into it; `llm.max_requests_per_minute`, when set, caps it.
 * - **Pauses**: a `retry-after` (or a 429/529 without one) and an exhausted `-remaining` hold
 *   every request of the process until then, not just the one that got it.
 * - **A cold cache**: the first request of a run, or the first after the cache's lifetime has
 *   passed, goes alone and the others follow once it has answered, so the rubric prefix is
 *   written to the cache once instead of once per request in flight.
 */
export class RateLimiter extends Context.Service<RateLimiter, {
  /** Runs one model request under the controller; `feedback` reads what its outcome said. */
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>, feedback: (exit: Exit.Exit<A, E>) => Feedback) => Effect.Effect<A, E, R>
  readonly state: Effect.Effect<ThroughputState>
}>()("cpa/RateLimiter") {
  static readonly make = (options: ThroughputOptions): Effect.Effect<RateLimiter["Service"]> =>
    Effect.sync(() => {
      const ceiling = Math.max(1, options.ceiling)
      const floor = Math.min(Math.max(1, options.floor), ceiling)
      const ttl = options.cacheTtlMs ?? CACHE_TTL_MS
      const userInterval = options.maxPerMinute !== undefined ? 60_000 / options.maxPerMinute : 0
      let limit = floor
      let threshold = ceiling
      let inFlight = 0
      let nextStart = 0
      let pausedUntil = 0
      let lastDecrease = -Infinity
      let lastStart = -Infinity
      let warm = false
      let probing = false
      let learnedPerMinute: number | undefined
      let remainingRequests: number | undefined
      let tokenLimits: { readonly input: number | undefined; readonly output: number | undefined } = { input: undefined, output: undefined }
      let avgIn: number | undefined
      let avgOut: number | undefined
      let changed = Deferred.makeUnsafe<void>()
      const signal = () => {
        const d = changed
        changed = Deferred.makeUnsafe<void>()
        Deferred.doneUnsafe(d, Effect.void)
      }

      const intervalMs = (): number => {
        let ms = userInterval
        // While the provider's bucket has ample room (more than twice the most requests that can
        // be in flight), spend it; close to empty, run at its refill rate.
        const ample = remainingRequests !== undefined && learnedPerMinute !== undefined &&
          remainingRequests > 2 * ceiling
        if (learnedPerMinute !== undefined && learnedPerMinute > 0 && !ample) ms = Math.max(ms, 60_000 / learnedPerMinute)
        if (tokenLimits.input !== undefined && avgIn !== undefined && tokenLimits.input > 0) ms = Math.max(ms, 60_000 * avgIn / tokenLimits.input)
        if (tokenLimits.output !== undefined && avgOut !== undefined && tokenLimits.output > 0) ms = Math.max(ms, 60_000 * avgOut / tokenLimits.output)
        return ms
      }

      interface Ticket {
        readonly startedAt: number
        readonly probe: boolean
      }

      const acquire: Effect.Effect<Ticket> = Effect.gen(function*() {
        while (true) {
          const now = yield* Clock.currentTimeMillis
          if (pausedUntil > now) {
            yield* Effect.sleep(pausedUntil - now)
            continue
          }
          const cold = !warm || now - lastStart > ttl
          const wait = changed
          if (probing || (cold && inFlight > 0) || inFlight >= Math.floor(limit)) {
            yield* Deferred.await(wait)
            continue
          }
          if (nextStart > now) {
            yield* Effect.sleep(nextStart - now)
            continue
          }
          inFlight++
          // On a grid, so a timer that fires late does not lower the rate (a late start is caught
          // up by the next one, at most one interval's worth).
          const interval = intervalMs()
          nextStart = Math.max(nextStart, now - interval) + interval
          lastStart = now
          if (cold) {
            warm = false
            probing = true
          }
          return { startedAt: now, probe: cold }
        }
      })

      const release = (ticket: Ticket, fb: Feedback) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          inFlight--
          if (ticket.probe) probing = false
          const status = fb.status
          const h = fb.headers
          const requests = num(h, "anthropic-ratelimit-requests-limit")
          if (requests !== undefined && requests !== learnedPerMinute) {
            learnedPerMinute = requests
            yield* Effect.logInfo(`throughput: the provider allows ${requests} requests a minute; pacing to it`)
          }
          const remaining = num(h, "anthropic-ratelimit-requests-remaining")
          if (remaining !== undefined) remainingRequests = remaining
          const input = num(h, "anthropic-ratelimit-input-tokens-limit")
          const output = num(h, "anthropic-ratelimit-output-tokens-limit")
          if (input !== undefined || output !== undefined) tokenLimits = { input, output }
          if (fb.inputTokens !== undefined) avgIn = avgIn === undefined ? fb.inputTokens : 0.8 * avgIn + 0.2 * fb.inputTokens
          if (fb.outputTokens !== undefined) avgOut = avgOut === undefined ? fb.outputTokens : 0.8 * avgOut + 0.2 * fb.outputTokens
          // An empty bucket: wait until it holds one more request's worth, not until it is
          // full again (`-reset` is when it is full).
          for (const [kind, cost] of [["requests", 1], ["input-tokens", avgIn ?? 1], ["output-tokens", avgOut ?? 1]] as const) {
            const remaining = num(h, `anthropic-ratelimit-${kind}-remaining`)
            const max = num(h, `anthropic-ratelimit-${kind}-limit`)
            if (remaining === undefined || remaining >= cost) continue
            const reset = date(h, `anthropic-ratelimit-${kind}-reset`)
            const refill = max !== undefined && max > 0 ? now + 60_000 * (cost - remaining) / max : undefined
            const until = Math.min(reset ?? Infinity, refill ?? Infinity)
            if (Number.isFinite(until)) pausedUntil = Math.max(pausedUntil, until)
          }
          // A pace learned just now applies to the next start too.
          nextStart = Math.max(nextStart, lastStart + intervalMs())
          if (status !== undefined && status >= 200 && status < 300) {
            warm = true
            limit = Math.min(ceiling, limit < threshold ? limit + 1 : limit + 1 / limit)
          } else if (status === 429 || status === 529) {
            pausedUntil = Math.max(pausedUntil, now + (fb.retryAfterMs ?? 1000))
            // Once per round trip: the requests already in flight were sent at the old level.
            if (ticket.startedAt >= lastDecrease) {
              threshold = Math.max(floor, Math.floor(limit / 2))
              limit = threshold
              lastDecrease = now
              yield* Effect.logInfo(`throughput: ${status} from the provider; ${limit} request(s) in flight from now`)
            }
          }
          signal()
        })

      return RateLimiter.of({
        withPermit: (effect, feedback) =>
          Effect.acquireUseRelease(acquire, () => effect, (ticket, exit) => release(ticket, feedback(exit))),
        state: Effect.sync(() => ({ limit: Math.floor(limit), inFlight, intervalMs: intervalMs(), learnedPerMinute, pausedUntil }))
      })
    })

  /** From `--concurrency` (the ceiling), `llm.min_concurrency` and `llm.max_requests_per_minute`. */
  static readonly layer: Layer.Layer<RateLimiter, never, Settings> = Layer.effect(
    RateLimiter,
    Effect.flatMap(Settings, (s) =>
      RateLimiter.make({
        floor: s.llmOptions.minConcurrency,
        ceiling: s.concurrency,
        maxPerMinute: s.llmOptions.maxRequestsPerMinute
      }))
  )
}
