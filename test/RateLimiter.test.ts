import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { RateLimiter } from "../src/analyzer/claude/RateLimiter.ts"

const takeAt = (limiter: RateLimiter["Service"], log: Array<number>) =>
  limiter.take.pipe(Effect.andThen(Clock.currentTimeMillis), Effect.tap((t) => Effect.sync(() => log.push(t))))

describe("RateLimiter", () => {
  it.effect("N requests in a minute start at once; request N+1 waits until the first leaves the window", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(3)
      const started: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.forEach([1, 2, 3, 4], () => takeAt(limiter, started), { concurrency: "unbounded" }))
      yield* TestClock.adjust("59999 millis")
      assert.deepStrictEqual(started, [0, 0, 0])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(started, [0, 0, 0, 60_000])
    }))

  it.effect("the window slides: a request waits only for the oldest of the last N", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(2)
      const started: Array<number> = []
      yield* takeAt(limiter, started)
      yield* TestClock.adjust("30 seconds")
      yield* takeAt(limiter, started)
      yield* TestClock.adjust("15 seconds")
      const third = yield* Effect.forkChild(takeAt(limiter, started))
      yield* TestClock.adjust("15 seconds")
      yield* Fiber.join(third)
      const fourth = yield* Effect.forkChild(takeAt(limiter, started))
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(fourth)
      assert.deepStrictEqual(started, [0, 30_000, 60_000, 90_000])
    }))

  it.effect("requests spread over more than a minute never wait", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(1)
      const started: Array<number> = []
      for (let i = 0; i < 3; i++) {
        yield* takeAt(limiter, started)
        yield* TestClock.adjust("61 seconds")
      }
      assert.deepStrictEqual(started, [0, 61_000, 122_000])
    }))
})
