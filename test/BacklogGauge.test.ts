import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { TestClock } from "effect/testing"
import { StoreError } from "../src/domain/Errors.ts"
import { runBatch } from "../src/programs/Batch.ts"
import { BacklogGauge } from "../src/services/BacklogGauge.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { makeMemoryConversationStore } from "../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { fixedScores, memoryWorld, records, runServices, scriptedAnalyzer, testSettings } from "./support/fixtures.ts"

/** The gauge's value, undefined while it was never set. */
const gauge = Effect.map(Metric.snapshot, (snapshots) => {
  const s = snapshots.find((m) => m.id === "cpa_backlog_records")
  return s === undefined ? undefined : (s.state as { readonly value: number }).value
})

/** Lets the background fiber run what it can without the clock moving. */
const settle = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow, { discard: true })

/** A count that takes `ms` (test clock) and records that it ran. */
const slowCount = (ms: number, value: number, ran: Array<number>) =>
  Effect.sleep(ms).pipe(Effect.andThen(Effect.sync(() => ran.push(value))), Effect.as(value))

const isolated = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(BacklogGauge.layer), Effect.provideService(Metric.MetricRegistry, new Map()))

describe("BacklogGauge", () => {
  it.effect("a count runs in the background: the request returns at once, the gauge follows when the count ends", () =>
    isolated(Effect.gen(function*() {
      const backlog = yield* BacklogGauge
      const ran: Array<number> = []
      yield* backlog.refresh(slowCount(5_000, 42, ran))
      yield* settle
      assert.isUndefined(yield* gauge)
      yield* TestClock.adjust(5_000)
      yield* settle
      assert.strictEqual(yield* gauge, 42)
    })))

  it.effect("counts start at most once a minute; what was asked for meanwhile waits, and only the latest runs", () =>
    isolated(Effect.gen(function*() {
      const backlog = yield* BacklogGauge
      const ran: Array<number> = []
      yield* backlog.refresh(slowCount(1_000, 10, ran))
      yield* TestClock.adjust(1_000)
      yield* settle
      yield* backlog.refresh(slowCount(1_000, 9, ran))
      yield* settle
      yield* backlog.refresh(slowCount(1_000, 8, ran))
      yield* TestClock.adjust(58_999)
      yield* settle
      assert.deepStrictEqual(ran, [10])
      assert.strictEqual(yield* gauge, 10)
      yield* TestClock.adjust(1)
      yield* TestClock.adjust(1_000)
      yield* settle
      assert.deepStrictEqual(ran, [10, 8])
      assert.strictEqual(yield* gauge, 8)
    })))

  it.effect("a known value is set at once, even while a count waits for its turn", () =>
    isolated(Effect.gen(function*() {
      const backlog = yield* BacklogGauge
      const ran: Array<number> = []
      yield* backlog.refresh(slowCount(0, 1_000, ran))
      yield* settle
      yield* backlog.refresh(slowCount(0, 500, ran))
      yield* settle
      yield* backlog.set(0)
      yield* TestClock.adjust(60_000)
      yield* settle
      assert.deepStrictEqual(ran, [1_000], "the waiting count was superseded")
      assert.strictEqual(yield* gauge, 0)
    })))

  it.effect("a failed count is skipped and the next one still runs", () =>
    isolated(Effect.gen(function*() {
      const backlog = yield* BacklogGauge
      yield* backlog.refresh(Effect.fail(new StoreError({ reason: "Timeout", operation: "ConversationStore.backlog", message: "socket timeout" })))
      yield* settle
      assert.isUndefined(yield* gauge)
      yield* TestClock.adjust(60_000)
      yield* backlog.refresh(Effect.succeed(7))
      yield* settle
      assert.strictEqual(yield* gauge, 7)
    })))
})

describe("runBatch and the backlog gauge", () => {
  it.effect("a full batch does not wait for the backlog count; a batch that was not full sets it to 0 without counting", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(15))
      const memory = makeMemoryConversationStore(world.store)
      const counted: Array<string | null> = []
      const store = Layer.succeed(ConversationStore, {
        ...memory,
        backlog: (after) => Effect.sync(() => counted.push(after)).pipe(Effect.andThen(Effect.sleep(30_000)), Effect.andThen(memory.backlog(after)))
      })
      const layer = Layer.mergeAll(
        runServices,
        store,
        MemoryJobStateStore.layer(world.states),
        scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer,
        testSettings({ batchSize: 10 })
      )
      yield* Effect.gen(function*() {
        const full = yield* runBatch()
        assert.strictEqual(full.records_processed, 10, "the batch ended before its 30 s count")
        yield* settle
        assert.strictEqual(counted.length, 1)
        assert.isUndefined(yield* gauge)
        yield* TestClock.adjust(30_000)
        yield* settle
        assert.strictEqual(yield* gauge, 5)
        const rest = yield* runBatch()
        assert.strictEqual(rest.records_processed, 5)
        yield* settle
        assert.strictEqual(yield* gauge, 0)
        assert.strictEqual(counted.length, 1, "no count after a batch that was not full")
      }).pipe(Effect.provide(layer), Effect.provideService(Metric.MetricRegistry, new Map()))
    }))
})
