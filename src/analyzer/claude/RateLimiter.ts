import { Clock, Context, Effect, Layer, Semaphore } from "effect"
import { Settings } from "../../services/Settings.ts"

const WINDOW_MS = 60_000

/**
 * Client-side limit on model requests: at most `maxPerMinute` starts in any 60-second window
 * (a sliding window on Effect's `Clock`, so tests drive it with `TestClock`). One instance is
 * shared by every concurrent `analyze` call; callers wait their turn in order.
 */
export class RateLimiter extends Context.Service<RateLimiter, {
  /** Waits until one more request may start, and counts it. */
  readonly take: Effect.Effect<void>
}>()("cpa/RateLimiter") {
  static readonly make = (maxPerMinute: number): Effect.Effect<RateLimiter["Service"]> =>
    Effect.gen(function*() {
      const lock = yield* Semaphore.make(1)
      // Start times of the requests in the current window, oldest first; only touched under `lock`.
      const starts: Array<number> = []
      const take = lock.withPermit(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        while (starts.length > 0 && starts[0]! <= now - WINDOW_MS) starts.shift()
        if (starts.length >= maxPerMinute) {
          yield* Effect.sleep(starts[0]! + WINDOW_MS - now)
          starts.shift()
        }
        starts.push(yield* Clock.currentTimeMillis)
      }))
      return RateLimiter.of({ take })
    })

  /** Limited by `llm.max_requests_per_minute` (`CPA_MAX_REQUESTS_PER_MINUTE`). */
  static readonly layer: Layer.Layer<RateLimiter, never, Settings> = Layer.effect(
    RateLimiter,
    Effect.flatMap(Settings, (s) => RateLimiter.make(s.llmOptions.maxRequestsPerMinute))
  )
}
