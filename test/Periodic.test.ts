import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { AnalyzerError } from "../src/domain/Errors.ts"
import { runPeriodic } from "../src/programs/Periodic.ts"
import { Shutdown } from "../src/services/Shutdown.ts"
import { fixedScores, memoryWorld, records, runServices, scriptedAnalyzer, testSettings } from "./support/fixtures.ts"

const JOB = "conversation_performance_analysis"

/** Lets the forked job run everything it can without the clock moving. */
const settle = Effect.forEach(Array.from({ length: 200 }), () => Effect.yieldNow, { discard: true })

describe("runPeriodic", () => {
  it.effect("a full batch starts the next at once; otherwise it waits the interval; stops at max-iterations", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(25))
      const layer = Layer.mergeAll(
        runServices,
        world.layer,
        scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer,
        testSettings({ batchSize: 10, interval: 5, maxIterations: 4 })
      )
      const fiber = yield* runPeriodic().pipe(Effect.provide(layer), Effect.forkChild)
      yield* settle
      // 10 + 10 (full, no wait) + 5 (not full): three batches without any wait.
      assert.strictEqual(world.states.get(JOB)?.data.iteration, 3)
      assert.strictEqual(world.store.results.size, 25)
      yield* TestClock.adjust(5 * 60_000 - 1)
      assert.strictEqual(world.states.get(JOB)?.data.iteration, 3)
      world.store.insertSources(records(4, 100))
      yield* TestClock.adjust(1)
      yield* settle
      const totals = yield* Fiber.join(fiber)
      assert.strictEqual(world.states.get(JOB)?.data.iteration, 4)
      assert.strictEqual(totals.batches, 4)
      assert.strictEqual(totals.records_persisted, 29)
    }))

  it.effect("a batch stopped by a provider outage: the next one waits the interval, doubled after each further failure", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(3))
      let down = true
      const analyzer = scriptedAnalyzer(() =>
        down ? Effect.fail(new AnalyzerError({ reason: "Overloaded", message: "overloaded", status: 529 })) : Effect.succeed(fixedScores)
      )
      const layer = Layer.mergeAll(
        runServices,
        world.layer,
        analyzer.layer,
        testSettings({ batchSize: 10, interval: 5, maxIterations: 3 }, { retry: { baseDelayMs: 0, maxRetries: 0 } })
      )
      const fiber = yield* runPeriodic().pipe(Effect.provide(layer), Effect.forkChild)
      yield* settle
      assert.strictEqual(world.states.get(JOB)?.data.iteration, 1)
      assert.strictEqual(world.states.get(JOB)?.status, "failed")
      yield* TestClock.adjust(5 * 60_000 - 1)
      assert.strictEqual(world.states.get(JOB)?.data.iteration, 1)
      yield* TestClock.adjust(1)
      yield* settle
      assert.strictEqual(world.states.get(JOB)?.data.iteration, 2)
      yield* TestClock.adjust(10 * 60_000 - 1)
      assert.strictEqual(world.states.get(JOB)?.data.iteration, 2, "the second wait is twice as long")
      down = false
      yield* TestClock.adjust(1)
      yield* settle
      const totals = yield* Fiber.join(fiber)
      assert.strictEqual(totals.records_persisted, 3)
      assert.strictEqual(world.store.deadLetters.size, 0)
    }))

  it.effect("a stop request ends the wait between batches at once", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(3))
      const shutdown = yield* Shutdown.make
      const fiber = yield* runPeriodic().pipe(
        Effect.provideService(Shutdown, shutdown),
        Effect.provide(Layer.mergeAll(runServices, world.layer, scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer, testSettings({ interval: 60 }))),
        Effect.forkChild
      )
      yield* TestClock.adjust(1_000)
      yield* shutdown.request
      yield* TestClock.adjust(0)
      const totals = yield* Fiber.join(fiber)
      assert.strictEqual(totals.batches, 1)
      assert.strictEqual(totals.records_persisted, 3)
    }))
})
