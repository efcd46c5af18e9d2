import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { AnalyzerError, ModelOutputInvalid } from "../src/domain/Errors.ts"
import { addOutcome, noOutcomes, type Outcome, runBatch } from "../src/programs/Batch.ts"
import { retryDeadLetters } from "../src/programs/DeadLetters.ts"
import { resetState } from "../src/programs/Stats.ts"
import { Analyzer } from "../src/services/Analyzer.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { JobHealth } from "../src/services/JobHealth.ts"
import { makeMemoryConversationStore } from "../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { Shutdown } from "../src/services/Shutdown.ts"
import { fixedScores, memoryWorld, oid, prng, records, REPO_ROOT, runServices, scriptedAnalyzer, testSettings } from "./support/fixtures.ts"

const JOB = "conversation_performance_analysis"

describe("runBatch", () => {
  it.effect("stores the analyzer's rationale and the count of dropped quotes with the result (analysis_version 4.3.0)", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(2))
      const rationale = {
        accuracy_compliance: { reason: "Reissued in the first reply.", evidence: [{ message: 2, quote: "I have reissued it today." }] },
        empathy_communication: { reason: "An apology and the handle.", evidence: [] },
        efficiency_resolution: { reason: "One reply after 5 min.", evidence: [] }
      }
      const analyzer = Layer.succeed(Analyzer, Analyzer.of({
        provider: "scripted",
        analyze: (c) =>
          Effect.succeed(c.sourceId === oid(0)
            ? { scores: fixedScores, model: "m", usage: undefined, rationale, evidenceDropped: 2 }
            : { scores: fixedScores, model: "m", usage: undefined })
      }))
      yield* runBatch().pipe(Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer, testSettings({ batchSize: 10 }))))
      const withRationale = world.store.results.get(oid(0))!
      assert.deepStrictEqual(withRationale.analysis_rationale, rationale)
      assert.strictEqual(withRationale.analysis_metadata.evidence_dropped, 2)
      assert.strictEqual(withRationale.analysis_metadata.analysis_version, "4.3.0")
      const without = world.store.results.get(oid(1))!
      assert.notProperty(without, "analysis_rationale")
      assert.notProperty(without.analysis_metadata, "evidence_dropped", "no rationale (llm.rationales: false): nothing to count")
    }))

  it.effect("persists every record and moves the checkpoint to the last one, whatever the completion order", () =>
    Effect.gen(function*() {
      for (let seed = 1; seed <= 40; seed++) {
        const rand = prng(seed)
        const n = 1 + Math.floor(rand() * 60)
        const concurrency = 1 + Math.floor(rand() * 16)
        const world = memoryWorld(records(n))
        const delays = Array.from({ length: n }, () => Math.floor(rand() * 1000))
        const analyzer = scriptedAnalyzer((c) =>
          Effect.sleep(delays[Number.parseInt(c.sourceId.slice(8), 16)]!).pipe(Effect.as(fixedScores))
        )
        const fiber = yield* runBatch().pipe(
          Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({ batchSize: 100, concurrency }))),
          Effect.forkChild
        )
        yield* TestClock.adjust(60_000)
        const stats = yield* Fiber.join(fiber)
        assert.strictEqual(stats.records_persisted, n, `seed ${seed}`)
        assert.strictEqual(world.store.results.size, n)
        assert.strictEqual(world.states.get(JOB)?.last_processed_object_id, oid(n - 1))
        assert.strictEqual(world.states.get(JOB)?.status, "completed")
      }
    }))

  it.effect("never skips an unfinished record: interrupted at a random point, the checkpoint covers only finished ones", () =>
    Effect.gen(function*() {
      for (let seed = 1; seed <= 40; seed++) {
        const rand = prng(seed * 7919)
        const n = 5 + Math.floor(rand() * 50)
        const world = memoryWorld(records(n))
        const delays = Array.from({ length: n }, () => 1 + Math.floor(rand() * 1000))
        const analyzer = scriptedAnalyzer((c) =>
          Effect.sleep(delays[Number.parseInt(c.sourceId.slice(8), 16)]!).pipe(Effect.as(fixedScores))
        )
        const fiber = yield* runBatch().pipe(
          Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({ batchSize: 100, concurrency: 8 }))),
          Effect.forkChild
        )
        yield* TestClock.adjust(Math.floor(rand() * 3000))
        yield* Fiber.interrupt(fiber)
        const checkpoint = world.states.get(JOB)?.last_processed_object_id ?? null
        for (let i = 0; i < n; i++) {
          if (checkpoint !== null && oid(i) <= checkpoint) {
            assert.isTrue(world.store.results.has(oid(i)), `seed ${seed}: ${oid(i)} is before the checkpoint but has no result`)
          }
        }
        // A second run finishes the rest: every record exactly once.
        const rerun = yield* runBatch().pipe(
          Effect.provide(Layer.mergeAll(runServices, world.layer, scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer, testSettings({ batchSize: 100 })))
        )
        assert.strictEqual(world.store.results.size, n, `seed ${seed}`)
        assert.strictEqual(rerun.last_processed_id, oid(n - 1))
      }
    }))

  it.effect("retries an outage-class error after 5, 10 and 20 seconds, then stops the batch: failed, checkpoint before it, no dead letter", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(3))
      const analyzer = scriptedAnalyzer((c) =>
        c.sourceId === oid(1)
          ? Effect.fail(new AnalyzerError({ reason: "Overloaded", message: "overloaded", status: 529 }))
          : Effect.succeed(fixedScores)
      )
      const fiber = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({ concurrency: 1 }))),
        Effect.exit,
        Effect.forkChild
      )
      yield* TestClock.adjust(0)
      assert.strictEqual(analyzer.calls.get(oid(1)), 1)
      yield* TestClock.adjust(4_999)
      assert.strictEqual(analyzer.calls.get(oid(1)), 1)
      yield* TestClock.adjust(1)
      assert.strictEqual(analyzer.calls.get(oid(1)), 2)
      yield* TestClock.adjust(9_999)
      assert.strictEqual(analyzer.calls.get(oid(1)), 2)
      yield* TestClock.adjust(1)
      assert.strictEqual(analyzer.calls.get(oid(1)), 3)
      yield* TestClock.adjust(19_999)
      assert.strictEqual(analyzer.calls.get(oid(1)), 3)
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.join(fiber)
      assert.strictEqual(analyzer.calls.get(oid(1)), 4)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      assert.strictEqual((error as any)?.error._tag, "RunFatal")
      assert.isTrue((error as any)?.error.transient, "an outage: a periodic run tries again later")
      assert.include((error as any)?.error.message, "overloaded")
      assert.strictEqual(world.store.deadLetters.size, 0, "nothing is wrong with the record")
      assert.strictEqual(world.states.get(JOB)?.status, "failed")
      assert.strictEqual(world.states.get(JOB)?.last_processed_object_id, oid(0))
      assert.isFalse(analyzer.calls.has(oid(2)), "nothing after it is tried")
    }))

  it.effect("the same non-retriable error on K requests in a row stops the run; at most K dead letters, which a later run resolves", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(20))
      let broken = true
      const analyzer = scriptedAnalyzer(() =>
        broken
          ? Effect.fail(new AnalyzerError({ reason: "BadRequest", type: "invalid_request_error", message: "temperature: unsupported", status: 400 }))
          : Effect.succeed(fixedScores)
      )
      const settings = testSettings({ concurrency: 4 })
      const layer = Layer.mergeAll(runServices, world.layer, analyzer.layer, settings)
      const exit = yield* runBatch().pipe(Effect.provide(layer), Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "the same error on 3 requests in a row")
      assert.isAtMost(world.store.deadLetters.size, 3)
      assert.isAtLeast(world.store.deadLetters.size, 1)
      assert.strictEqual(world.states.get(JOB)?.status, "failed")
      broken = false
      yield* retryDeadLetters({}).pipe(Effect.provide(layer))
      yield* runBatch().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.results.size, 20)
      assert.isTrue([...world.store.deadLetters.values()].every((d) => d.status === "resolved"))
    }))

  it.effect("different record errors, or a success between them, do not stop the run", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(9))
      const analyzer = scriptedAnalyzer((c) => {
        const i = Number.parseInt(c.sourceId.slice(8), 16)
        return i % 3 === 2
          ? Effect.succeed(fixedScores)
          : Effect.fail(new AnalyzerError({ reason: "BadRequest", type: "invalid_request_error", message: "prompt too long", status: 400 }))
      })
      const stats = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({ concurrency: 1 })))
      )
      assert.strictEqual(stats.errors, 6)
      assert.strictEqual(stats.records_persisted, 3)
    }))

  it.effect("a 404 (model or deployment gone) stops the run at once with no dead letter", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(5))
      const analyzer = scriptedAnalyzer(() => Effect.fail(new AnalyzerError({ reason: "NotFound", message: "model: claude-sonnet-9-9", status: 404 })))
      const exit = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({ concurrency: 1 }))),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(world.store.deadLetters.size, 0)
      assert.strictEqual(analyzer.calls.size, 1)
    }))

  it.effect("the retry base delay is configurable", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(1))
      const analyzer = scriptedAnalyzer((_, call) =>
        call < 3 ? Effect.fail(new AnalyzerError({ reason: "Timeout", message: "timed out" })) : Effect.succeed(fixedScores)
      )
      const fiber = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({}, { retry: { baseDelayMs: 100, maxRetries: 3 } }))),
        Effect.forkChild
      )
      yield* TestClock.adjust(299)
      assert.strictEqual(analyzer.calls.get(oid(0)), 2)
      yield* TestClock.adjust(1)
      const stats = yield* Fiber.join(fiber)
      assert.strictEqual(stats.records_persisted, 1)
      assert.strictEqual(world.store.deadLetters.size, 0)
    }))

  it.effect("honours retry-after as the minimum wait", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(1))
      const analyzer = scriptedAnalyzer((_, call) =>
        call === 1
          ? Effect.fail(new AnalyzerError({ reason: "RateLimited", message: "429", status: 429, retryAfterMs: 30_000 }))
          : Effect.succeed(fixedScores)
      )
      const fiber = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings())),
        Effect.forkChild
      )
      yield* TestClock.adjust(29_999)
      assert.strictEqual(analyzer.calls.get(oid(0)), 1)
      yield* TestClock.adjust(1)
      yield* Fiber.join(fiber)
      assert.strictEqual(analyzer.calls.get(oid(0)), 2)
    }))

  it.effect("a non-retriable error is dead-lettered after one attempt; invalid model output is retried", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(2))
      const analyzer = scriptedAnalyzer((c, call) =>
        c.sourceId === oid(0)
          ? Effect.fail(new AnalyzerError({ reason: "BadRequest", message: "prompt too long", status: 400 }))
          : call === 1
          ? Effect.fail(new ModelOutputInvalid({ field: "csat_resolution", message: "csat_resolution: expected <= 5, got 9" }))
          : Effect.succeed(fixedScores)
      )
      const fiber = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings())),
        Effect.forkChild
      )
      yield* TestClock.adjust(5_000)
      const stats = yield* Fiber.join(fiber)
      assert.strictEqual(analyzer.calls.get(oid(0)), 1)
      assert.strictEqual(world.store.deadLetters.get(oid(0))?.error.attempts, 1)
      assert.isFalse(world.store.deadLetters.get(oid(0))!.error.retriable)
      assert.strictEqual(analyzer.calls.get(oid(1)), 2)
      assert.strictEqual(stats.records_persisted, 1)
      assert.strictEqual(stats.errors, 1)
    }))

  it.effect("a run-fatal error stops the run: checkpoint before the failed record, nothing dead-lettered", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(10))
      const analyzer = scriptedAnalyzer((c) =>
        c.sourceId === oid(4)
          ? Effect.fail(new AnalyzerError({ reason: "Unauthorized", message: "invalid x-api-key", status: 401 }))
          : Effect.succeed(fixedScores)
      )
      const exit = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({ concurrency: 1 }))),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "invalid x-api-key")
      assert.strictEqual(world.store.deadLetters.size, 0)
      assert.strictEqual(world.states.get(JOB)?.last_processed_object_id, oid(3))
      assert.strictEqual(world.states.get(JOB)?.status, "failed")
      assert.isFalse(world.store.results.has(oid(4)))
    }))

  it.effect("malformed documents become InvalidSourceDocument dead letters; the batch goes on", () =>
    Effect.gen(function*() {
      const bad = [
        { id: oid(100), doc: {} },
        { id: oid(101), doc: { conversation: { tweets: "nope" } } },
        { id: oid(102), doc: { conversation: { tweets: [] } } },
        { id: oid(103), doc: { conversation: { tweets: [{ text: 5, inbound: true, created_at: "2024-01-01" }] } } },
        { id: oid(104), doc: { conversation: { tweets: [{ text: "x", inbound: true, created_at: "yesterday-ish" }] } } }
      ]
      const world = memoryWorld([...records(3), ...bad])
      const analyzer = scriptedAnalyzer(() => Effect.succeed(fixedScores))
      const stats = yield* runBatch().pipe(Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings())))
      assert.strictEqual(stats.records_processed, 8)
      assert.strictEqual(stats.records_persisted, 3)
      assert.strictEqual(stats.errors, 5)
      for (const b of bad) {
        const dl = world.store.deadLetters.get(b.id)!
        assert.strictEqual(dl.error.tag, "InvalidSourceDocument")
        assert.strictEqual(dl.error.attempts, 1)
        assert.notInclude(dl.error.message, "\n")
      }
      assert.include(world.store.deadLetters.get(oid(101))!.error.message, "tweets")
      assert.strictEqual(analyzer.calls.size, 3)
    }))

  it.effect("reset-state then a re-run gives the same result count (no duplicates) and resolves nothing twice", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(25))
      const layer = Layer.mergeAll(runServices, world.layer, scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer, testSettings({ batchSize: 10 }))
      for (let i = 0; i < 3; i++) yield* runBatch().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.results.size, 25)
      yield* resetState().pipe(Effect.provide(layer))
      assert.isUndefined(world.states.get(JOB))
      for (let i = 0; i < 3; i++) yield* runBatch().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.results.size, 25)
      assert.strictEqual(world.states.get(JOB)?.data.total_stats.records_persisted, 25)
    }))

  it.effect("a later success resolves the record's dead letter", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(1))
      let fail = true
      const analyzer = scriptedAnalyzer(() =>
        fail ? Effect.fail(new AnalyzerError({ reason: "BadRequest", message: "prompt too long", status: 400 })) : Effect.succeed(fixedScores)
      )
      const layer = Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings())
      yield* runBatch().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.deadLetters.get(oid(0))?.status, "open")
      fail = false
      yield* resetState().pipe(Effect.provide(layer))
      yield* runBatch().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.deadLetters.get(oid(0))?.status, "resolved")
      assert.strictEqual(world.store.results.size, 1)
    }))
})

describe("runBatch and open dead letters", () => {
  it.effect("a success resolves its open dead letter; records without one cost no resolve call", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(6))
      const memory = makeMemoryConversationStore(world.store)
      const resolveCalls: Array<string> = []
      const counting = Layer.succeed(ConversationStore, {
        ...memory,
        resolveDeadLetter: (id, at) => Effect.sync(() => resolveCalls.push(id)).pipe(Effect.andThen(memory.resolveDeadLetter(id, at)))
      })
      const layer = Layer.mergeAll(
        runServices,
        counting,
        MemoryJobStateStore.layer(world.states),
        scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer,
        testSettings({ batchSize: 3 })
      )
      world.store.deadLetters.set(oid(4), {
        source_object_id: oid(4),
        conversation_id: `conv_${oid(4)}`,
        job_name: JOB,
        analysis_version: "4.2.0",
        status: "open",
        error: { tag: "AnalyzerError", reason: "NotFound", message: "model", retriable: false, http_status: 404, field: null, attempts: 1 },
        attempts: 1,
        failures: 1,
        first_failed_at: "2024-01-01T00:00:00.000Z",
        last_failed_at: "2024-01-01T00:00:00.000Z",
        resolved_at: null
      })
      yield* runBatch().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.deadLetters.get(oid(4))?.status, "open")
      yield* runBatch().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.deadLetters.get(oid(4))?.status, "resolved")
      assert.strictEqual(world.store.results.size, 6)
      assert.deepStrictEqual(resolveCalls, [oid(4)])
    }))
})

describe("runBatch and a stop request", () => {
  it.effect("takes no new record after the request; the ones in flight finish; status stopped", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(10))
      const shutdown = yield* Shutdown.make
      const analyzer = scriptedAnalyzer(() => Effect.sleep(1_000).pipe(Effect.as(fixedScores)))
      const fiber = yield* runBatch().pipe(
        Effect.provideService(Shutdown, shutdown),
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings({ concurrency: 2 }))),
        Effect.forkChild
      )
      yield* TestClock.adjust(500)
      yield* shutdown.request
      yield* TestClock.adjust(5_000)
      const stats = yield* Fiber.join(fiber)
      assert.strictEqual(analyzer.calls.size, 2)
      assert.strictEqual(stats.records_persisted, 2)
      assert.strictEqual(world.states.get(JOB)?.status, "stopped")
      assert.strictEqual(world.states.get(JOB)?.last_processed_object_id, oid(1))
    }))
})

describe("runBatch and the run's own services", () => {
  const fatalAnalyzer = () =>
    scriptedAnalyzer(() => Effect.fail(new AnalyzerError({ reason: "Unauthorized", message: "invalid x-api-key", status: 401 })))

  it.effect("a run-fatal batch marks its own run unhealthy; a second run in the same process starts healthy", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(3))
      const first = yield* Effect.gen(function*() {
        const health = yield* JobHealth
        const exit = yield* Effect.exit(runBatch())
        return { exit, fatal: yield* health.fatal }
      }).pipe(Effect.provide(Layer.mergeAll(runServices, world.layer, fatalAnalyzer().layer, testSettings())))
      assert.isTrue(Exit.isFailure(first.exit))
      assert.include(first.fatal ?? "", "invalid x-api-key")

      const second = yield* Effect.gen(function*() {
        const health = yield* JobHealth
        const before = yield* health.fatal
        yield* runBatch()
        return { before, after: yield* health.fatal }
      }).pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer, testSettings()))
      )
      assert.isUndefined(second.before, "the first run's failure is not the second run's")
      assert.isUndefined(second.after)
      assert.strictEqual(world.store.results.size, 3)
    }))

  it.effect("a successful batch clears its run's fatal mark", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(2))
      let fail = true
      const analyzer = scriptedAnalyzer(() =>
        fail ? Effect.fail(new AnalyzerError({ reason: "Unauthorized", message: "invalid x-api-key", status: 401 })) : Effect.succeed(fixedScores)
      )
      yield* Effect.gen(function*() {
        const health = yield* JobHealth
        yield* Effect.exit(runBatch())
        assert.isDefined(yield* health.fatal)
        fail = false
        yield* runBatch()
        assert.isUndefined(yield* health.fatal)
      }).pipe(Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings())))
    }))

  it.effect("a stop requested in one run does not stop the next one", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(4))
      const analyzer = scriptedAnalyzer(() => Effect.succeed(fixedScores))
      const stopped = yield* Effect.gen(function*() {
        yield* (yield* Shutdown).request
        return yield* runBatch()
      }).pipe(Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings())))
      assert.strictEqual(stopped.records_processed, 0)
      assert.strictEqual(world.states.get(JOB)?.status, "stopped")

      const next = yield* runBatch().pipe(Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer.layer, testSettings())))
      assert.strictEqual(next.records_processed, 4)
      assert.strictEqual(world.states.get(JOB)?.status, "completed")
    }))
})

describe("batch statistics", () => {
  const usage = { input_tokens: 1000, output_tokens: 200, cache_creation_input_tokens: 50, cache_read_input_tokens: 3000 }

  it("add up the records' outcomes", () => {
    const outcomes: Array<Outcome> = [
      { _tag: "Persisted", sourceId: oid(0), usage, cost: 0.25 },
      { _tag: "DeadLettered", sourceId: oid(1) },
      { _tag: "Persisted", sourceId: oid(2), usage: undefined, cost: 0 },
      { _tag: "Persisted", sourceId: oid(3), usage, cost: 0.5 }
    ]
    const totals = outcomes.reduce(addOutcome, noOutcomes)
    assert.deepStrictEqual(totals, {
      records_processed: 4,
      records_analyzed: 3,
      records_persisted: 3,
      errors: 1,
      usage: { input_tokens: 2000, output_tokens: 400, cache_creation_input_tokens: 100, cache_read_input_tokens: 6000 },
      estimated_cost_usd: 0.75
    })
  })

  it.effect("of a batch are folded from each record's outcome, with the model's usage and cost", () =>
    Effect.gen(function*() {
      const world = memoryWorld([...records(4), { id: oid(50), doc: {} }])
      const analyzer = Layer.succeed(
        Analyzer,
        Analyzer.of({
          provider: "priced",
          analyze: (c) =>
            c.sourceId === oid(2)
              ? Effect.fail(new AnalyzerError({ reason: "BadRequest", message: "prompt too long", status: 400 }))
              : Effect.succeed({ scores: fixedScores, model: "claude-sonnet-4-6", usage })
        })
      )
      const settings = testSettings({ config: path.join(REPO_ROOT, "config/periodic_job_config.yaml"), batchSize: 100 as never })
      const stats = yield* runBatch().pipe(Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer, settings)))
      assert.deepStrictEqual(
        [stats.records_processed, stats.records_analyzed, stats.records_persisted, stats.errors, stats.last_processed_id],
        [5, 3, 3, 2, oid(50)]
      )
      assert.deepStrictEqual(stats.usage, {
        input_tokens: 3000,
        output_tokens: 600,
        cache_creation_input_tokens: 150,
        cache_read_input_tokens: 9000
      })
      // claude-sonnet-4-6 at $3 / $15 / $3.75 / $0.30 per million tokens
      assert.closeTo(stats.estimated_cost_usd, 3 * (1000 * 3 + 200 * 15 + 50 * 3.75 + 3000 * 0.3) / 1e6, 1e-12)
      const state = world.states.get(JOB)!
      assert.deepStrictEqual(state.data.batch_stats, stats)
      assert.strictEqual(state.data.total_stats.records_persisted, 3)
      assert.strictEqual(state.data.total_stats.errors, 2)
    }))
})
