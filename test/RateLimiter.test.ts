import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { type Feedback, RateLimiter } from "../src/analyzer/claude/RateLimiter.ts"

type Limiter = RateLimiter["Service"]

/** One request: records its start, takes `ms`, and reports `feedback`. */
const request = (limiter: Limiter, starts: Array<number>, ms: number, feedback: Feedback = { status: 200 }) =>
  limiter.withPermit(
    Clock.currentTimeMillis.pipe(
      Effect.tap((t) => Effect.sync(() => starts.push(t))),
      Effect.andThen(Effect.sleep(ms))
    ),
    () => feedback
  )

const headers = (h: Record<string, string>) => new Headers(h)

describe("RateLimiter (adaptive throughput)", () => {
  it.effect("a cold cache: the first request goes alone, the others once it has answered", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 4, ceiling: 4 })
      const starts: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.forEach([1, 2, 3, 4], () => request(limiter, starts, 1000), { concurrency: "unbounded" }))
      yield* TestClock.adjust(999)
      assert.deepStrictEqual(starts, [0])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(starts, [0, 1000, 1000, 1000])
      yield* TestClock.adjust(1000)
      yield* Fiber.join(fiber)
    }))

  it.effect("after the cache's lifetime without a request, the next one goes alone again", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 2, ceiling: 2, cacheTtlMs: 60_000 })
      const starts: Array<number> = []
      yield* request(limiter, starts, 0)
      yield* TestClock.adjust(120_000)
      const fiber = yield* Effect.forkChild(Effect.forEach([1, 2], () => request(limiter, starts, 100), { concurrency: "unbounded" }))
      yield* TestClock.adjust(100)
      yield* TestClock.adjust(100)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(starts, [0, 120_000, 120_100])
    }))

  it.effect("llm.max_requests_per_minute, when set, spaces the starts", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 8, ceiling: 8, maxPerMinute: 60 })
      const starts: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.forEach([1, 2, 3, 4], () => request(limiter, starts, 10), { concurrency: "unbounded" }))
      yield* TestClock.adjust(5_000)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(starts, [0, 1000, 2000, 3000])
    }))

  it.effect("the requests-limit header sets the pace; no header, no pace", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 8, ceiling: 8 })
      const starts: Array<number> = []
      yield* request(limiter, starts, 0, { status: 200, headers: headers({ "anthropic-ratelimit-requests-limit": "600" }) })
      assert.strictEqual((yield* limiter.state).intervalMs, 100)
      assert.strictEqual((yield* limiter.state).learnedPerMinute, 600)
      const fiber = yield* Effect.forkChild(Effect.forEach([1, 2, 3], () => request(limiter, starts, 0), { concurrency: "unbounded" }))
      yield* TestClock.adjust(1000)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(starts, [0, 100, 200, 300])
    }))

  it.effect("a bucket with ample room is spent first; close to empty, the pace is its refill rate", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 4, ceiling: 4 })
      const answer = (remaining: number): Feedback => ({
        status: 200,
        headers: headers({ "anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": String(remaining) })
      })
      yield* request(limiter, [], 0, answer(500))
      assert.strictEqual((yield* limiter.state).intervalMs, 0)
      yield* request(limiter, [], 0, answer(8))
      assert.strictEqual((yield* limiter.state).intervalMs, 100, "no more than 2 x the ceiling left")
    }))

  it.effect("the input-tokens limit paces by the tokens a request uses", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 8, ceiling: 8 })
      yield* request(limiter, [], 0, {
        status: 200,
        headers: headers({ "anthropic-ratelimit-requests-limit": "4000", "anthropic-ratelimit-input-tokens-limit": "30000" }),
        inputTokens: 1000
      })
      // 30,000 input tokens a minute at 1,000 a request: 30 requests a minute, one every 2 s.
      assert.strictEqual((yield* limiter.state).intervalMs, 2000)
    }))

  it.effect("a retry-after pauses every request of the process, not only the one that got it", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 4, ceiling: 4 })
      const starts: Array<number> = []
      yield* request(limiter, starts, 0)
      // Two in flight; the first answers 429 with retry-after 30 s after 100 ms.
      const limited = yield* Effect.forkChild(request(limiter, starts, 100, { status: 429, retryAfterMs: 30_000 }))
      const other = yield* Effect.forkChild(request(limiter, starts, 200))
      yield* TestClock.adjust(100)
      const later = yield* Effect.forkChild(Effect.forEach([1, 2], () => request(limiter, starts, 10), { concurrency: "unbounded" }))
      yield* TestClock.adjust(29_999)
      assert.deepStrictEqual(starts, [0, 0, 0], "nothing starts during the pause")
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(starts, [0, 0, 0, 30_100, 30_100])
      yield* TestClock.adjust(10)
      yield* Fiber.join(limited)
      yield* Fiber.join(other)
      yield* Fiber.join(later)
    }))

  it.effect("requests in flight grow from the floor with successes and halve on a 429, never below the floor or above the ceiling", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 2, ceiling: 10 })
      assert.strictEqual((yield* limiter.state).limit, 2)
      for (let i = 0; i < 20; i++) yield* request(limiter, [], 0)
      assert.strictEqual((yield* limiter.state).limit, 10, "capped at the ceiling")
      yield* request(limiter, [], 0, { status: 429 })
      assert.strictEqual((yield* limiter.state).limit, 5)
      yield* TestClock.adjust(1000)
      yield* request(limiter, [], 0, { status: 529 })
      yield* TestClock.adjust(1000)
      yield* request(limiter, [], 0, { status: 429 })
      yield* TestClock.adjust(1000)
      yield* request(limiter, [], 0, { status: 429 })
      assert.strictEqual((yield* limiter.state).limit, 2, "the floor")
    }))

  it.effect("an empty bucket (-remaining 0) waits for one request's worth, not for the full reset", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ floor: 2, ceiling: 2 })
      const starts: Array<number> = []
      yield* request(limiter, starts, 0, {
        status: 200,
        headers: headers({
          "anthropic-ratelimit-requests-limit": "60",
          "anthropic-ratelimit-requests-remaining": "0",
          "anthropic-ratelimit-requests-reset": new Date(60_000).toISOString()
        })
      })
      assert.strictEqual((yield* limiter.state).pausedUntil, 1000)
      const next = yield* Effect.forkChild(request(limiter, starts, 0))
      yield* TestClock.adjust(1000)
      yield* Fiber.join(next)
      assert.deepStrictEqual(starts, [0, 1000])
    }))
})
