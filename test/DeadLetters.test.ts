import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AnalyzerError } from "../src/domain/Errors.ts"
import { foldDeadLetter } from "../src/domain/DeadLetter.ts"
import { ANALYSIS_VERSION, JOB_NAME } from "../src/domain/Result.ts"
import { retryDeadLetters } from "../src/programs/DeadLetters.ts"
import { fixedScores, memoryWorld, oid, records, scriptedAnalyzer, testSettings } from "./support/fixtures.ts"

const openDeadLetter = (id: string) =>
  foldDeadLetter(undefined, {
    source_object_id: id,
    job_name: JOB_NAME,
    analysis_version: ANALYSIS_VERSION,
    error: { tag: "AnalyzerError", reason: "Overloaded", message: "overloaded", retriable: true, http_status: 529, field: null, attempts: 4 },
    failed_at: "2024-01-01T00:00:00.000Z"
  })

describe("retryDeadLetters", () => {
  it.effect("folds the statistics from each record's outcome; a dead letter without its source stays open", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(4))
      for (const id of [oid(0), oid(2), oid(3), oid(9)]) world.store.deadLetters.set(id, openDeadLetter(id))
      const analyzer = scriptedAnalyzer((c) =>
        c.sourceId === oid(3)
          ? Effect.fail(new AnalyzerError({ reason: "BadRequest", message: "prompt too long", status: 400 }))
          : Effect.succeed(fixedScores)
      )
      const stats = yield* retryDeadLetters({}).pipe(Effect.provide(Layer.mergeAll(world.layer, analyzer.layer, testSettings())))
      assert.deepStrictEqual(
        [stats.records_processed, stats.records_analyzed, stats.records_persisted, stats.errors, stats.last_processed_id],
        [3, 2, 2, 1, oid(3)]
      )
      assert.deepStrictEqual(
        [oid(0), oid(2), oid(3), oid(9)].map((id) => world.store.deadLetters.get(id)?.status),
        ["resolved", "resolved", "open", "open"]
      )
      assert.strictEqual(world.store.deadLetters.get(oid(3))?.failures, 2)
      assert.deepStrictEqual([...world.store.results.keys()].sort(), [oid(0), oid(2)])
    }))

  it.effect("with nothing to retry, the statistics are empty", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records(2))
      const stats = yield* retryDeadLetters({}).pipe(
        Effect.provide(Layer.mergeAll(world.layer, scriptedAnalyzer(() => Effect.succeed(fixedScores)).layer, testSettings()))
      )
      assert.deepStrictEqual([stats.records_processed, stats.errors, stats.last_processed_id], [0, 0, null])
    }))
})
