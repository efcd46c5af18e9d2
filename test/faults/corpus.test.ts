import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, References } from "effect"
import type { ObjectId } from "mongodb"
import { inject } from "vitest"
import type { DeadLetter } from "../../src/domain/DeadLetter.ts"
import { CLARITY_SUBFACTOR_RANGE, EMPATHY_SUBFACTOR_RANGE, KPI_CATEGORIES, type Range } from "../../src/domain/Kpi.ts"
import { type AgenticAnalysis, DEAD_LETTER_COLLECTION, JOB_NAME, RESULT_COLLECTION } from "../../src/domain/Result.ts"
import { runBatch } from "../../src/programs/Batch.ts"
import { AnthropicAnalyzer } from "../../src/analyzer/claude/AnthropicAnalyzer.ts"
import { HeuristicAnalyzer } from "../../src/analyzer/heuristic/HeuristicAnalyzer.ts"
import { Mongo } from "../../src/store/mongo/MongoClient.ts"
import { RateLimiter } from "../../src/analyzer/claude/RateLimiter.ts"
import { insertSources, mongoStores } from "../contract/mongoHarness.ts"
import { envLayer, settingsLayer } from "../support/claudeFixtures.ts"
import { errorAnswer, loopbackClaude } from "../support/loopbackClaude.ts"
import { memoryWorld, oid, runServices, testSettings } from "../support/fixtures.ts"
import { checkInvariant } from "../support/invariant.ts"
import { corpus, corpusRecords, ONE_MB_TEXT } from "./corpus.ts"

const records = corpusRecords()
const sortedIds = records.map((r) => r.id).sort()
const lastId = sortedIds[sortedIds.length - 1]!
const expectedDead = records.filter((r) => r.expect.outcome === "dead")

const inRange = (where: string, value: unknown, r: Range) => {
  assert.isTrue(typeof value === "number" && Number.isFinite(value), `${where}: ${String(value)} is not a finite number`)
  assert.isTrue((value as number) >= r.min && (value as number) <= r.max, `${where}: ${String(value)} outside [${r.min}, ${r.max}]`)
  if (r.integer) assert.isTrue(Number.isInteger(value), `${where}: ${String(value)} is not whole`)
}

/** Every KPI and sub-factor of a stored result inside the specification's range. */
const assertScoresInRange = (name: string, result: AgenticAnalysis) => {
  const metrics = result.performance_metrics as unknown as Record<string, Record<string, unknown>>
  for (const [category, kpis] of Object.entries(KPI_CATEGORIES)) {
    for (const [kpi, range] of Object.entries(kpis)) inRange(`${name}: ${category}.${kpi}`, metrics[category]?.[kpi], range)
  }
  const ec = result.performance_metrics.empathy_communication
  assert.strictEqual(Object.keys(ec.empathy_subfactors).length, 6, name)
  assert.strictEqual(Object.keys(ec.clarity_subfactors).length, 6, name)
  for (const [k, v] of Object.entries(ec.empathy_subfactors)) inRange(`${name}: empathy_subfactors.${k}`, v, EMPATHY_SUBFACTOR_RANGE)
  for (const [k, v] of Object.entries(ec.clarity_subfactors)) inRange(`${name}: clarity_subfactors.${k}`, v, CLARITY_SUBFACTOR_RANGE)
}

/** Each record has exactly the outcome the corpus names: a result with these counts, or a dead letter naming the field. */
const assertOutcomes = (results: ReadonlyMap<string, AgenticAnalysis>, deadLetters: ReadonlyMap<string, DeadLetter>) => {
  for (const r of records) {
    const result = results.get(r.id)
    const dead = deadLetters.get(r.id)
    if (r.expect.outcome === "dead") {
      assert.isUndefined(result, `${r.name}: has a result, expected a dead letter`)
      assert.isDefined(dead, `${r.name}: no dead letter`)
      const { error } = dead!
      assert.strictEqual(error.tag, "InvalidSourceDocument", r.name)
      assert.strictEqual(error.attempts, 1, `${r.name}: a bad document is never retried`)
      assert.isFalse(error.retriable, r.name)
      assert.notMatch(error.message, /[\n\r]/, `${r.name}: the reason is one line`)
      assert.isAtMost(error.message.length, 300, r.name)
      assert.isTrue(error.message.startsWith(`${r.expect.field}: `), `${r.name}: the reason names the field: ${error.message}`)
      assert.match(error.message.slice(r.expect.field.length), r.expect.says, `${r.name}: ${error.message}`)
      assert.strictEqual(dead!.status, "open")
      assert.strictEqual(dead!.failures, 1)
    } else {
      assert.isUndefined(dead, `${r.name}: dead-lettered (${dead?.error.message}), expected a result`)
      assert.isDefined(result, `${r.name}: no result`)
      const s = result!.conversation_summary
      assert.deepStrictEqual(
        { total: s.total_messages, customer: s.customer_messages, agent: s.agent_messages, intent: s.intent },
        { total: r.expect.total, customer: r.expect.customer, agent: r.expect.agent, intent: r.expect.intent },
        r.name
      )
      if (r.expect.sourceTimestamp !== undefined) assert.strictEqual(result!.source_timestamp, r.expect.sourceTimestamp, r.name)
      assert.strictEqual(result!.conversation_id, `conv_${r.id}`)
      assert.match(result!.analysis_metadata.model_used, /^heuristic-/)
      assertScoresInRange(r.name, result!)
    }
  }
  assert.strictEqual(results.size + deadLetters.size, records.length, "one outcome per source, nothing else")
}

describe("bad source documents", () => {
  it("the corpus covers every kind the brief names, interleaved with valid documents", () => {
    const names = corpus.map((c) => c.name).join("|")
    for (const kind of ["missing conversation", "tweets is a string", "empty tweets", "non-string text", "unparseable created_at", "5,000 messages", "1 MB", "control characters", "mixed scripts", "duplicate tweet_ids", "nulls"]) {
      assert.include(names, kind)
    }
    assert.notDeepEqual(records.map((r) => r.id), sortedIds, "inserted out of _id order")
    for (let k = 0; k < sortedIds.length; k += 2) {
      assert.match(records.find((r) => r.id === sortedIds[k])!.name, /^valid/, "valid documents sit between the bad ones")
    }
  })

  it.live("in-memory stores: each is dead-lettered naming the field or analyzed correctly; the batch completes", () =>
    Effect.gen(function*() {
      const world = memoryWorld(records)
      const stats = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, HeuristicAnalyzer.layer, testSettings({ batchSize: 100, concurrency: 4 }))),
        Effect.provideService(References.MinimumLogLevel, "Error")
      )
      assert.strictEqual(stats.records_processed, records.length)
      assert.strictEqual(stats.errors, expectedDead.length)
      assert.strictEqual(stats.records_persisted, records.length - expectedDead.length)
      assert.strictEqual(stats.last_processed_id, lastId)
      const state = world.states.get(JOB_NAME)
      assert.strictEqual(state?.status, "completed")
      assert.strictEqual(state?.last_processed_object_id, lastId)
      assertOutcomes(world.store.results, world.store.deadLetters)
    }), 60_000)

  const mongoUri = inject("mongoUri")
  if (mongoUri === "") {
    process.stderr.write("\n!!! test/faults/corpus.test.ts: NO MONGODB SERVER: the MongoDB corpus run is SKIPPED\n\n")
    it.skip("SKIPPED: MongoDB stores (no MongoDB-compatible server)", () => {})
  } else {
    it.live("MongoDB stores: the same outcomes, read back with the driver; the invariant holds", () =>
      Effect.gen(function*() {
        const mongo = yield* Mongo
        yield* insertSources(mongo, records)
        const stats = yield* runBatch().pipe(
          Effect.provide(Layer.mergeAll(runServices, HeuristicAnalyzer.layer, testSettings({ batchSize: 100, concurrency: 4 }))),
          Effect.provideService(References.MinimumLogLevel, "Error")
        )
        assert.strictEqual(stats.records_processed, records.length)
        assert.strictEqual(stats.errors, expectedDead.length)
        assert.strictEqual(stats.last_processed_id, lastId)

        const results = yield* mongo.use("test.results", (db) => db.collection(RESULT_COLLECTION).find({}).toArray())
        const dead = yield* mongo.use("test.deadLetters", (db) => db.collection(DEAD_LETTER_COLLECTION).find({}).toArray())
        const byId = <T>(docs: ReadonlyArray<unknown>) =>
          new Map((docs as Array<T & { source_object_id: string; _id?: ObjectId }>).map((d) => [d.source_object_id, d as T]))
        assert.strictEqual(results.length + dead.length, records.length)
        assertOutcomes(byId<AgenticAnalysis>(results), byId<DeadLetter>(dead))

        const report = yield* Effect.promise(() => checkInvariant(mongoUri, mongo.db.databaseName))
        assert.deepStrictEqual(
          { lost: report.lost, duplicated: report.duplicated, both: report.both, checkpoint: report.checkpoint, sources: report.sources },
          { lost: [], duplicated: [], both: [], checkpoint: lastId, sources: records.length }
        )
        assert.strictEqual(report.results + report.openDeadLetters, records.length)
      }).pipe(Effect.provide(mongoStores(mongoUri))), 90_000)
  }

  it.live("through Claude: the 1 MB document is sent whole in one sane request, and a 413 dead-letters it as TooLarge", () =>
    Effect.gen(function*() {
      const fake = yield* loopbackClaude()
      const big = records.find((r) => r.name === "1 MB of text in one message")!
      fake.script("messages", errorAnswer(413, "request_too_large", "Request exceeds the maximum allowed number of bytes"))
      const world = memoryWorld([big])
      const settings = settingsLayer({ llm: "anthropic" })
      const analyzer = AnthropicAnalyzer.layer.pipe(
        Layer.provide(RateLimiter.layer),
        Layer.provide(settings),
        Layer.provide(envLayer({ ANTHROPIC_API_KEY: "sk-ant-test-corpus-0000", ANTHROPIC_BASE_URL: fake.url }))
      )
      const stats = yield* runBatch().pipe(
        Effect.provide(Layer.mergeAll(runServices, world.layer, analyzer, settings)),
        Effect.provideService(References.MinimumLogLevel, "Error")
      )

      assert.strictEqual(fake.requestsTo("messages").length, 1, "a 413 is not retried")
      const request = fake.requestsTo("messages")[0]!
      const bytes = Buffer.byteLength(request.rawBody)
      assert.isAbove(bytes, ONE_MB_TEXT.length, "the whole text is sent")
      assert.isBelow(bytes, ONE_MB_TEXT.length + 200_000, `request of ${bytes} bytes: no more than the text, the rubric and the envelope`)
      const userText: string = request.body.messages[0].content[0].text
      assert.include(userText, ONE_MB_TEXT.slice(0, 10_000))
      assert.strictEqual(userText.split("</conversation_json>").length, 2)

      assert.strictEqual(stats.errors, 1)
      assert.strictEqual(world.store.results.size, 0)
      const dead = world.store.deadLetters.get(big.id)
      assert.deepInclude(dead?.error, { tag: "AnalyzerError", reason: "TooLarge", http_status: 413, attempts: 1, retriable: false })
      assert.include(dead?.error.message, "413")
      assert.strictEqual(dead?.source_object_id, oid(Number.parseInt(big.id.slice(8), 16)))
    }), 30_000)
})
