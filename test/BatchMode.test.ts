import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { emptyBatchMode } from "../src/domain/JobState.ts"
import { nextStreak, noStreak, REPEATED_ERROR_LIMIT, streakStops } from "../src/domain/RepeatedErrors.ts"
import { API_BATCH_MAX_REQUESTS, batchModeCheckpoint, runBatchMode, stepBatchMode } from "../src/programs/BatchMode.ts"
import { type BatchInfo, BatchProvider, type BatchResultLine } from "../src/services/BatchProvider.ts"
import { fixedScores, memoryWorld, oid, records, runServices, testSettings } from "./support/fixtures.ts"

const JOB = "conversation_performance_analysis"
const settle = Effect.forEach(Array.from({ length: 200 }), () => Effect.yieldNow, { discard: true })

/** A Message Batches API in memory: batches end when the test says so; every request succeeds. */
const fakeProvider = () => {
  const batches: Array<{ info: BatchInfo; ids: Array<string> }> = []
  const end = () => {
    for (const b of batches) {
      if (b.info.status === "ended") continue
      b.info = { ...b.info, status: "ended", counts: { ...b.info.counts, processing: 0, succeeded: b.ids.length } }
    }
  }
  const find = (id: string) => batches.find((b) => b.info.id === id)!
  const layer = Layer.succeed(
    BatchProvider,
    BatchProvider.of({
      model: "claude-sonnet-4-6",
      buildRequest: (c) => ({ customId: c.sourceId, bytes: 100, body: { custom_id: c.sourceId } }),
      create: (requests) =>
        Effect.sync(() => {
          const info: BatchInfo = {
            id: `b${batches.length + 1}`,
            status: "in_progress",
            createdAt: new Date().toISOString(),
            endedAt: null,
            expiresAt: null,
            counts: { processing: requests.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 }
          }
          batches.push({ info, ids: requests.map((r) => r.customId) })
          return info
        }),
      retrieve: (id) => Effect.sync(() => find(id).info),
      list: () => Effect.sync(() => batches.map((b) => b.info).reverse()),
      cancel: (id) => Effect.sync(() => find(id).info),
      results: (id) => Stream.fromIterable(find(id).ids.map((customId): BatchResultLine => ({ _tag: "succeeded", customId, message: {} }))),
      decode: () =>
        Effect.succeed({
          scores: fixedScores,
          model: "claude-sonnet-4-6",
          usage: { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
        })
    })
  )
  return { batches, end, layer }
}

describe("batch mode", () => {
  it("the checkpoint stops before the first API batch not collected and before records back in the queue", () => {
    assert.strictEqual(batchModeCheckpoint({ ...emptyBatchMode, submitted_through: oid(9) }, oid(2)), oid(9))
    assert.strictEqual(batchModeCheckpoint({ ...emptyBatchMode, submitted_through: oid(9), requeue: [{ id: oid(5), attempts: 0, after: oid(3) }] }, oid(2)), oid(3))
    assert.strictEqual(batchModeCheckpoint({ ...emptyBatchMode, submitted_through: oid(9), requeue: [{ id: oid(1), attempts: 0, after: null }] }, null), null)
  })

  it(`${REPEATED_ERROR_LIMIT} identical non-retriable errors in a row stop; anything else breaks the streak`, () => {
    let s = noStreak
    for (let i = 1; i < REPEATED_ERROR_LIMIT; i++) s = nextStreak(s, "400:bad")
    assert.isFalse(streakStops(s))
    assert.isTrue(streakStops(nextStreak(s, "400:bad")))
    assert.isFalse(streakStops(nextStreak(nextStreak(s, null), "400:bad")))
    assert.isFalse(streakStops(nextStreak(s, "404:other")))
  })

  it.effect("polls every --poll-interval while a batch is in flight, collects once it ended, then waits the interval", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(7))
      const api = fakeProvider()
      const layer = Layer.mergeAll(runServices, world.layer, api.layer, testSettings({ interval: 10, pollInterval: 1, maxIterations: 4 }))
      const fiber = yield* runBatchMode({ single: false }).pipe(Effect.provide(layer), Effect.forkChild)
      yield* settle
      assert.strictEqual(api.batches.length, 1)
      assert.strictEqual(world.states.get(JOB)?.batch_mode?.batches[0]?.status, "in_progress")
      assert.strictEqual(world.states.get(JOB)?.last_processed_object_id, null)
      yield* TestClock.adjust(60_000)
      assert.strictEqual(world.store.results.size, 0)
      api.end()
      yield* TestClock.adjust(60_000)
      yield* settle
      assert.strictEqual(world.store.results.size, 7)
      assert.strictEqual(world.states.get(JOB)?.last_processed_object_id, oid(6))
      assert.strictEqual([...world.store.results.values()][0]?.analysis_metadata.service_tier, "batch")
      yield* TestClock.adjust(10 * 60_000)
      const stats = yield* Fiber.join(fiber)
      assert.strictEqual(stats.records_persisted, 7)
      assert.strictEqual(api.batches.length, 1)
    }))

  it.effect(`a job batch above ${API_BATCH_MAX_REQUESTS} requests goes out as several API batches, each intent saved first`, () =>
    Effect.gen(function*() {
      const n = API_BATCH_MAX_REQUESTS + 5
      const world = memoryWorld(records(n))
      const api = fakeProvider()
      const layer = Layer.mergeAll(runServices, world.layer, api.layer, testSettings({ batchSize: n }))
      yield* stepBatchMode().pipe(Effect.provide(layer))
      assert.deepStrictEqual(api.batches.map((b) => b.ids.length), [API_BATCH_MAX_REQUESTS, 5])
      const mode = world.states.get(JOB)?.batch_mode
      assert.deepStrictEqual(mode?.batches.map((b) => [b.after, b.last_id, b.batch_id]), [
        [null, oid(API_BATCH_MAX_REQUESTS - 1), "b1"],
        [oid(API_BATCH_MAX_REQUESTS - 1), oid(n - 1), "b2"]
      ])
      api.end()
      yield* stepBatchMode().pipe(Effect.provide(layer))
      assert.strictEqual(world.store.results.size, n)
      assert.strictEqual(world.states.get(JOB)?.last_processed_object_id, oid(n - 1))
    }), { timeout: 60_000 })
})
