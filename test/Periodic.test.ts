import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { foldDeadLetter } from "../src/domain/DeadLetter.ts"
import { initialJobState } from "../src/domain/JobState.ts"
import { AnalyzerError } from "../src/domain/Errors.ts"
import { runPeriodic } from "../src/programs/Periodic.ts"
import { Shutdown } from "../src/services/Shutdown.ts"
import { fixedScores, memoryWorld, oid, records, runServices, scriptedAnalyzer, testSettings } from "./support/fixtures.ts"

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
      assert.strictEqual(world.states.get(JOB)?.status, "completed")
      const before = world.states.get(JOB)!.last_updated
      yield* TestClock.adjust(30_000)
      yield* shutdown.request
      yield* TestClock.adjust(0)
      const totals = yield* Fiber.join(fiber)
      assert.strictEqual(totals.batches, 1)
      assert.strictEqual(totals.records_persisted, 3)
      // Recorded as a stop mid-batch is: status stopped, at the time of the stop.
      assert.strictEqual(world.states.get(JOB)?.status, "stopped")
      assert.isAbove(Date.parse(world.states.get(JOB)!.last_updated), Date.parse(before))
    }))

  it.effect("dead letters marked for retry by another process are retried before the next batch, and the mark cleared", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(3))
      world.store.deadLetters.set(oid(1), {
        ...foldDeadLetter(undefined, {
          source_object_id: oid(1),
          job_name: JOB,
          analysis_version: "4.3.0",
          error: { tag: "AnalyzerError", reason: "Overloaded", message: "overloaded", retriable: true, http_status: 529, field: null, attempts: 4 },
          failed_at: "2024-01-01T00:00:00Z"
        }),
        retry_requested_at: "2024-01-02T00:00:00Z"
      })
      // The checkpoint is already past the record: only the marked retry can reach it.
      world.states.set(JOB, { ...initialJobState(JOB, new Date(0)), last_processed_object_id: oid(2), status: "completed" })
      const seen: Array<string> = []
      const layer = Layer.mergeAll(
        runServices,
        world.layer,
        scriptedAnalyzer((c) => Effect.sync(() => (seen.push(c.sourceId), fixedScores))).layer,
        testSettings({ maxIterations: 1 })
      )
      yield* runPeriodic().pipe(Effect.provide(layer))
      assert.deepStrictEqual(seen, [oid(1)])
      assert.strictEqual(world.store.deadLetters.get(oid(1))?.status, "resolved")
      assert.isNull(world.store.deadLetters.get(oid(1))?.retry_requested_at ?? null)
      assert.isTrue(world.store.results.has(oid(1)))
    }))

  it.effect("BATCH RESULTS carry the job's own iteration number, the one the log shows", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(4))
      const layer = Layer.mergeAll(
        runServices,
        world.layer,
        scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer,
        testSettings({ batchSize: 2, maxIterations: 2 })
      )
      const printed: Array<string> = []
      const console = { ...globalThis.console, log: (...args: ReadonlyArray<unknown>) => void printed.push(args.join(" ")) }
      // A first run of two batches, then a second run: its batches are iterations 3 and 4.
      yield* runPeriodic().pipe(Effect.provide(layer), Effect.provideService(Console.Console, console as Console.Console))
      printed.length = 0
      world.store.insertSources(records(4, 100))
      yield* runPeriodic().pipe(Effect.provide(layer), Effect.provideService(Console.Console, console as Console.Console))
      const headers = printed.flatMap((block) => block.split("\n").filter((l) => l.startsWith("BATCH RESULTS")))
      assert.deepStrictEqual(headers, ["BATCH RESULTS (iteration 3)", "BATCH RESULTS (iteration 4)"])
    }))
})
