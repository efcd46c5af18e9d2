import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, type Layer, Stream } from "effect"
import type { DeadLetterInput, ErrorReport } from "../../src/domain/DeadLetter.ts"
import { emptyUsage } from "../../src/domain/Kpi.ts"
import { initialJobState, type JobState } from "../../src/domain/JobState.ts"
import { type AgenticAnalysis, buildResult, type ResultRow, toResultRow } from "../../src/domain/Result.ts"
import { decodeConversation, type SourceRecord } from "../../src/domain/Source.ts"
import { ConversationStore } from "../../src/services/ConversationStore.ts"
import { JobStateStore } from "../../src/services/JobStateStore.ts"
import { conversationDoc, fixedScores, oid } from "../support/fixtures.ts"

/** How a contract test puts source documents into the store under test (the port has no writer for them). */
export class ContractSources extends Context.Service<ContractSources, {
  /** Adds source documents; ids are ObjectId hex and may come in any order. */
  readonly insert: (records: ReadonlyArray<SourceRecord>) => Effect.Effect<void, unknown>
}>()("cpa/test/ContractSources") {}

export type ContractServices = ConversationStore | JobStateStore | ContractSources

export interface StoreUnderTest {
  readonly name: string
  /** Fresh, empty stores; built for one test and released after it. */
  readonly makeLayer: () => Layer.Layer<ContractServices, unknown>
  /**
   * Whether concurrent updates of one existing document are atomic. True for MongoDB and the
   * in-memory store; FerretDB 1.x on SQLite loses concurrent `$inc`s on the same document.
   */
  readonly atomicConcurrentUpdates: boolean
}

const equalWeights = {
  empathy: {
    emotion_recognition: 1 / 6,
    acknowledgment_feelings: 1 / 6,
    appropriate_response: 1 / 6,
    personalization: 1 / 6,
    supportive_language: 1 / 6,
    active_listening: 1 / 6
  },
  clarity: {
    readability_level: 1 / 6,
    jargon_usage: 1 / 6,
    sentence_structure: 1 / 6,
    coherence: 1 / 6,
    active_voice: 1 / 6,
    conciseness: 1 / 6
  }
}

/** The result of source record `i`, processed at `processedAt`, scored by `model`. */
export const resultFor = (i: number, processedAt: string, model = "model-a"): Effect.Effect<AgenticAnalysis> =>
  decodeConversation({ id: oid(i), doc: conversationDoc(i) }).pipe(
    Effect.orDie,
    Effect.map((c) =>
      buildResult(c, fixedScores, equalWeights, {
        model,
        usage: { ...emptyUsage, input_tokens: 1000 + i, output_tokens: 200 },
        costUsd: 0.01,
        processedAt: new Date(processedAt),
        jobName: "contract"
      })
    )
  )

const errorReport = (tag: string, reason: string | null, attempts: number): ErrorReport => ({
  tag,
  reason,
  message: `${tag} happened`,
  retriable: reason !== null,
  http_status: reason === "RateLimited" ? 429 : null,
  field: tag === "ModelOutputInvalid" ? "csat_resolution" : null,
  attempts
})

const failure = (i: number, failedAt: string, error: ErrorReport): DeadLetterInput => ({
  source_object_id: oid(i),
  job_name: "contract",
  analysis_version: "4.2.0",
  error,
  failed_at: failedAt
})

const source = (i: number): SourceRecord => ({ id: oid(i), doc: conversationDoc(i) })

const ids = (records: ReadonlyArray<SourceRecord>) => records.map((r) => r.id)

const jobState = (jobName: string, checkpoint: string | null, iteration: number): JobState => {
  const base = initialJobState(jobName, new Date("2024-05-01T10:00:00.000Z"))
  return {
    ...base,
    last_processed_object_id: checkpoint,
    status: "running",
    data: {
      iteration,
      batch_stats: {
        records_processed: 3,
        records_analyzed: 2,
        records_persisted: 2,
        errors: 1,
        duration_seconds: 1.25,
        last_processed_id: checkpoint,
        started_at: "2024-05-01T09:59:58.000Z",
        usage: { input_tokens: 300, output_tokens: 40, cache_creation_input_tokens: 5, cache_read_input_tokens: 7 },
        estimated_cost_usd: 0.0042
      },
      total_stats: { ...base.data.total_stats, batches: iteration, records_processed: 3 * iteration }
    }
  }
}

/**
 * The behaviour every `ConversationStore` + `JobStateStore` pair must show. Each case gets a
 * fresh, empty pair from `subject.makeLayer()`.
 */
export const storeContract = (subject: StoreUnderTest): void => {
  const test = (name: string, body: Effect.Effect<void, unknown, ContractServices>) =>
    it.effect(name, () => Effect.provide(body, subject.makeLayer()))

  describe(`store contract: ${subject.name}`, () => {
    test("readAfter returns records in _id order and pages through a checkpoint, whatever the insertion order", Effect.gen(function*() {
      const store = yield* ConversationStore
      const sources = yield* ContractSources
      // inserted out of order, in two calls, with gaps between ids
      yield* sources.insert([source(40), source(10), source(70)])
      yield* sources.insert([source(30), source(60), source(20), source(50)])
      const all = [10, 20, 30, 40, 50, 60, 70].map(oid)

      assert.deepStrictEqual(ids(yield* Stream.runCollect(store.readAfter(null, 100))), all)

      const pages: Array<Array<string>> = []
      let checkpoint: string | null = null
      for (let page = 0; page < 5; page++) {
        const batch = ids(yield* Stream.runCollect(store.readAfter(checkpoint, 3)))
        pages.push(batch)
        if (batch.length === 0) break
        checkpoint = batch[batch.length - 1]!
      }
      assert.deepStrictEqual(pages, [all.slice(0, 3), all.slice(3, 6), all.slice(6), []])

      // a checkpoint that is not itself a source id (a record deleted since)
      assert.deepStrictEqual(ids(yield* Stream.runCollect(store.readAfter(oid(35), 2))), [oid(40), oid(50)])
      assert.deepStrictEqual(ids(yield* Stream.runCollect(store.readAfter(oid(70), 10))), [])
      assert.deepStrictEqual(ids(yield* Stream.runCollect(store.readAfter(null, 0))), [])

      // a record inserted later with an id below the checkpoint is not read again
      yield* sources.insert([source(15), source(80)])
      assert.deepStrictEqual(ids(yield* Stream.runCollect(store.readAfter(oid(70), 10))), [oid(80)])
    }))

    test("a source whose _id is not an ObjectId is counted as unreadable and never read", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* (yield* ContractSources).insert([source(1), { ...source(2), id: "not-an-object-id" }, source(3)])
      const read = yield* Stream.runCollect(store.readAfter(null, 100))
      assert.deepStrictEqual(read.map((r) => r.id), [oid(1), oid(3)])
      const counts = yield* store.counts(null)
      assert.strictEqual(counts.sources, 3)
      assert.strictEqual(counts.unreadable, 1)
      assert.strictEqual(counts.backlog, 2)
    }))

    test("readAfter yields the stored document body", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* (yield* ContractSources).insert([source(1), source(2)])
      const [first] = yield* Stream.runCollect(store.readAfter(null, 1))
      assert.strictEqual(first?.id, oid(1))
      const conversation = yield* decodeConversation(first!)
      assert.strictEqual(conversation.sourceId, oid(1))
      assert.strictEqual(conversation.messages.length, 3)
      assert.strictEqual(conversation.messages[1]?.text, "@cust1 Sorry about that! I have reissued it today.")
      assert.strictEqual(conversation.classification.intent, "Order Status")
    }))

    test("readAfter can be consumed partially (take) and read again", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* (yield* ContractSources).insert(Array.from({ length: 30 }, (_, i) => source(i)))
      const firstTwo = yield* Stream.runCollect(store.readAfter(null, 25).pipe(Stream.take(2)))
      assert.deepStrictEqual(ids(firstTwo), [oid(0), oid(1)])
      assert.strictEqual((yield* Stream.runCollect(store.readAfter(null, 25))).length, 25)
    }))

    test("readByIds returns the existing ones in _id order and leaves out unknown ids", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* (yield* ContractSources).insert([source(3), source(1), source(2), source(5)])
      const found = yield* Stream.runCollect(store.readByIds([oid(5), oid(4), oid(1), oid(3), "not-an-object-id"]))
      assert.deepStrictEqual(ids(found), [oid(1), oid(3), oid(5)])
      assert.deepStrictEqual(yield* Stream.runCollect(store.readByIds([])), [])
    }))

    test("upsertResult is idempotent and replaces the result of the same record", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* (yield* ContractSources).insert([source(1), source(2), source(3)])
      const results = yield* Effect.forEach([1, 2, 3], (i) => resultFor(i, `2024-05-01T10:00:0${i}Z`))
      yield* Effect.forEach(results, store.upsertResult)
      const once = yield* store.counts(null)
      yield* Effect.forEach(results, store.upsertResult)
      assert.deepStrictEqual(yield* store.counts(null), once)
      assert.strictEqual(once.results, 3)

      const redone = yield* resultFor(2, "2024-05-02T08:00:00Z", "model-b")
      yield* store.upsertResult(redone)
      assert.strictEqual((yield* store.counts(null)).results, 3)
      const [latest] = yield* store.recentResults(1)
      assert.deepStrictEqual(latest, redone)
    }))

    test("50 concurrent upserts of one record leave one result", Effect.gen(function*() {
      const store = yield* ConversationStore
      const results = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, k) => k),
        (k) => resultFor(7, `2024-05-01T10:00:${String(k).padStart(2, "0")}Z`)
      )
      yield* Effect.forEach(results, store.upsertResult, { concurrency: "unbounded", discard: true })
      assert.strictEqual((yield* store.counts(null)).results, 1)
      const recent = yield* store.recentResults(10)
      assert.strictEqual(recent.length, 1)
      assert.strictEqual(recent[0]?.source_object_id, oid(7))
    }))

    test("a group of results stored again together (a Message Batch collected twice) replaces them", Effect.gen(function*() {
      const store = yield* ConversationStore
      const first = yield* Effect.forEach(Array.from({ length: 120 }, (_, i) => i), (i) => resultFor(i, "2024-05-01T10:00:00Z"))
      yield* Effect.forEach(first.slice(0, 100), store.upsertResult, { concurrency: "unbounded", discard: true })
      // all of them again, 100 existing and 20 new, in one group
      const again = yield* Effect.forEach(Array.from({ length: 120 }, (_, i) => i), (i) => resultFor(i, "2024-05-02T10:00:00Z", "model-b"))
      yield* Effect.forEach(again, store.upsertResult, { concurrency: "unbounded", discard: true })
      assert.strictEqual((yield* store.counts(null)).results, 120)
      const stored = yield* store.resultsByIds(again.map((r) => r.source_object_id))
      assert.deepStrictEqual(new Set(stored.map((r) => r.analysis_metadata.model_used)), new Set(["model-b"]))
    }))

    test("a dead letter folds repeated failures: attempts add up, failures count, first failure kept", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* store.upsertDeadLetter(failure(1, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "RateLimited", 4)))
      yield* store.upsertDeadLetter(failure(1, "2024-05-01T11:00:00Z", errorReport("ModelOutputInvalid", null, 2)))
      const [d] = yield* store.listDeadLetters({ ids: [oid(1)] })
      assert.deepStrictEqual(d, {
        source_object_id: oid(1),
        conversation_id: `conv_${oid(1)}`,
        job_name: "contract",
        analysis_version: "4.2.0",
        status: "open",
        error: errorReport("ModelOutputInvalid", null, 2),
        attempts: 6,
        failures: 2,
        first_failed_at: "2024-05-01T10:00:00Z",
        last_failed_at: "2024-05-01T11:00:00Z",
        resolved_at: null
      })

      assert.isTrue(yield* store.resolveDeadLetter(oid(1), "2024-05-01T12:00:00Z"))
      assert.isFalse(yield* store.resolveDeadLetter(oid(1), "2024-05-01T12:30:00Z"))
      assert.isFalse(yield* store.resolveDeadLetter(oid(2), "2024-05-01T12:30:00Z"))
      const [resolved] = yield* store.listDeadLetters({ ids: [oid(1)] })
      assert.strictEqual(resolved?.status, "resolved")
      assert.strictEqual(resolved?.resolved_at, "2024-05-01T12:00:00Z")
      assert.strictEqual((yield* store.counts(null)).openDeadLetters, 0)

      // failing again reopens it
      yield* store.upsertDeadLetter(failure(1, "2024-05-02T09:00:00Z", errorReport("AnalyzerError", "Timeout", 1)))
      const [reopened] = yield* store.listDeadLetters({})
      assert.strictEqual(reopened?.status, "open")
      assert.strictEqual(reopened?.resolved_at, null)
      assert.strictEqual(reopened?.attempts, 7)
      assert.strictEqual(reopened?.failures, 3)
      assert.strictEqual(reopened?.first_failed_at, "2024-05-01T10:00:00Z")
      assert.strictEqual((yield* store.counts(null)).openDeadLetters, 1)
    }))

    test("a failure reported again with the occurrence folded in last changes nothing; another occurrence counts", Effect.gen(function*() {
      const store = yield* ConversationStore
      const once = { ...failure(1, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "BadRequest", 1)), occurrence: "message-batch:a" }
      yield* store.upsertDeadLetter(once)
      yield* store.upsertDeadLetter({ ...once, failed_at: "2024-05-01T10:05:00Z" })
      const [d] = yield* store.listDeadLetters({ ids: [oid(1)] })
      assert.strictEqual(d?.failures, 1)
      assert.strictEqual(d?.attempts, 1)
      assert.strictEqual(d?.last_failed_at, "2024-05-01T10:00:00Z")
      assert.strictEqual(d?.last_occurrence, "message-batch:a")
      yield* store.upsertDeadLetter({ ...once, failed_at: "2024-05-02T10:00:00Z", occurrence: "message-batch:b" })
      yield* store.upsertDeadLetter({ ...once, failed_at: "2024-05-03T10:00:00Z", occurrence: undefined })
      const [e] = yield* store.listDeadLetters({ ids: [oid(1)] })
      assert.strictEqual(e?.failures, 3)
      assert.strictEqual(e?.last_failed_at, "2024-05-03T10:00:00Z")
      assert.strictEqual(e?.last_occurrence, "message-batch:b")
      // a new dead letter with an occurrence is created as usual
      yield* store.upsertDeadLetter({ ...failure(2, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "BadRequest", 1)), occurrence: "message-batch:a" })
      assert.strictEqual((yield* store.counts(null)).openDeadLetters, 2)
    }))

    test("listDeadLetters filters by status, tag or reason, ids and limit, latest failure first", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* store.upsertDeadLetter(failure(1, "2024-05-01T10:00:01Z", errorReport("AnalyzerError", "RateLimited", 4)))
      yield* store.upsertDeadLetter(failure(2, "2024-05-01T10:00:05Z", errorReport("InvalidSourceDocument", null, 1)))
      yield* store.upsertDeadLetter(failure(3, "2024-05-01T10:00:03Z", errorReport("AnalyzerError", "BadRequest", 1)))
      yield* store.upsertDeadLetter(failure(4, "2024-05-01T10:00:04Z", errorReport("ModelOutputInvalid", null, 4)))
      yield* store.upsertDeadLetter(failure(5, "2024-05-01T10:00:02Z", errorReport("AnalyzerError", "RateLimited", 4)))
      yield* store.resolveDeadLetter(oid(4), "2024-05-01T11:00:00Z")
      const list = (filter: Parameters<typeof store.listDeadLetters>[0]) =>
        store.listDeadLetters(filter).pipe(Effect.map((ds) => ds.map((d) => d.source_object_id)))

      assert.deepStrictEqual(yield* list({}), [2, 4, 3, 5, 1].map(oid))
      assert.deepStrictEqual(yield* list({ status: "open" }), [2, 3, 5, 1].map(oid))
      assert.deepStrictEqual(yield* list({ status: "resolved" }), [oid(4)])
      assert.deepStrictEqual(yield* list({ errorTag: "AnalyzerError" }), [3, 5, 1].map(oid))
      assert.deepStrictEqual(yield* list({ errorTag: "RateLimited" }), [5, 1].map(oid))
      assert.deepStrictEqual(yield* list({ errorTag: "NoSuchTag" }), [])
      assert.deepStrictEqual(yield* list({ ids: [oid(1), oid(4), oid(9)] }), [4, 1].map(oid))
      assert.deepStrictEqual(yield* list({ ids: [] }), [])
      assert.deepStrictEqual(yield* list({ afterId: oid(3) }), [4, 5].map(oid))
      assert.deepStrictEqual(yield* list({ status: "open", afterId: oid(3), ids: [oid(1), oid(5)] }), [oid(5)])
      assert.deepStrictEqual(yield* list({ limit: 2 }), [2, 4].map(oid))
      assert.deepStrictEqual(yield* list({ limit: 0 }), [])
      assert.deepStrictEqual(
        yield* list({ status: "open", errorTag: "AnalyzerError", ids: [oid(1), oid(3), oid(2)], limit: 1 }),
        [oid(3)]
      )
    }))

    test("countDeadLetters groups by error tag, largest group first", Effect.gen(function*() {
      const store = yield* ConversationStore
      const tags = ["AnalyzerError", "ModelOutputInvalid", "AnalyzerError", "InvalidSourceDocument", "AnalyzerError", "ModelOutputInvalid"]
      yield* Effect.forEach(tags, (tag, i) =>
        store.upsertDeadLetter(failure(i + 1, `2024-05-01T10:00:0${i}Z`, errorReport(tag, null, 1))))
      yield* store.resolveDeadLetter(oid(2), "2024-05-01T11:00:00Z")
      yield* store.resolveDeadLetter(oid(4), "2024-05-01T11:00:00Z")
      assert.deepStrictEqual(yield* store.countDeadLetters("open"), [
        { tag: "AnalyzerError", count: 3 },
        { tag: "ModelOutputInvalid", count: 1 }
      ])
      assert.deepStrictEqual(yield* store.countDeadLetters("resolved"), [
        { tag: "InvalidSourceDocument", count: 1 },
        { tag: "ModelOutputInvalid", count: 1 }
      ])
    }))

    if (subject.atomicConcurrentUpdates) {
      test("concurrent dead-letter upserts of one record lose no failure", Effect.gen(function*() {
        const store = yield* ConversationStore
        yield* Effect.forEach(
          Array.from({ length: 20 }, (_, k) => k),
          (k) => store.upsertDeadLetter(failure(9, `2024-05-01T10:00:${String(k).padStart(2, "0")}Z`, errorReport("AnalyzerError", "Timeout", 2))),
          { concurrency: "unbounded", discard: true }
        )
        const [d] = yield* store.listDeadLetters({})
        assert.strictEqual(d?.failures, 20)
        assert.strictEqual(d?.attempts, 40)
        assert.strictEqual((yield* store.listDeadLetters({})).length, 1)
      }))
    }

    test("markRetryRequested marks open dead letters for the running instance and clears the mark", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* store.upsertDeadLetter(failure(1, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "Timeout", 4)))
      yield* store.upsertDeadLetter(failure(2, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "Timeout", 4)))
      yield* store.upsertDeadLetter(failure(3, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "Timeout", 4)))
      yield* store.resolveDeadLetter(oid(3), "2024-05-01T11:00:00Z")
      assert.deepStrictEqual(yield* store.listDeadLetters({ retryRequested: true }), [])
      assert.strictEqual(yield* store.markRetryRequested([oid(1), oid(3), oid(9)], "2024-05-02T00:00:00Z"), 1, "only open ones")
      const marked = yield* store.listDeadLetters({ status: "open", retryRequested: true })
      assert.deepStrictEqual(marked.map((d) => [d.source_object_id, d.retry_requested_at]), [[oid(1), "2024-05-02T00:00:00Z"]])
      yield* store.markRetryRequested([oid(1)], null)
      assert.deepStrictEqual(yield* store.listDeadLetters({ retryRequested: true }), [])
      assert.strictEqual((yield* store.listDeadLetters({ status: "open" })).length, 2)
    }))

    test("counts: sources, results, open dead letters and the backlog after a checkpoint", Effect.gen(function*() {
      const store = yield* ConversationStore
      assert.deepStrictEqual(yield* store.counts(null), { sources: 0, results: 0, openDeadLetters: 0, backlog: 0, unreadable: 0 })
      yield* (yield* ContractSources).insert([5, 1, 4, 2, 3].map(source))
      yield* Effect.forEach([1, 2], (i) => Effect.flatMap(resultFor(i, "2024-05-01T10:00:00Z"), store.upsertResult))
      yield* store.upsertDeadLetter(failure(3, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "Timeout", 4)))
      yield* store.upsertDeadLetter(failure(4, "2024-05-01T10:00:00Z", errorReport("AnalyzerError", "Timeout", 4)))
      yield* store.resolveDeadLetter(oid(4), "2024-05-01T11:00:00Z")

      assert.deepStrictEqual(yield* store.counts(null), { sources: 5, results: 2, openDeadLetters: 1, backlog: 5, unreadable: 0 })
      assert.strictEqual((yield* store.counts(oid(2))).backlog, 3)
      assert.strictEqual((yield* store.counts(oid(0))).backlog, 5)
      assert.strictEqual((yield* store.counts(oid(5))).backlog, 0)
      assert.strictEqual((yield* store.counts(oid(9))).backlog, 0)
      assert.deepStrictEqual(
        yield* Effect.forEach([null, oid(0), oid(2), oid(5), oid(9)], store.backlog),
        [5, 5, 3, 0, 0],
        "backlog alone agrees with counts"
      )
      assert.strictEqual((yield* Effect.flip(store.backlog("nope"))).reason, "Invalid")
    }))

    test("recentResults: newest processed first, ties by source id descending, at most limit", Effect.gen(function*() {
      const store = yield* ConversationStore
      const stamps: ReadonlyArray<readonly [number, string]> = [
        [1, "2024-05-01T10:00:03Z"],
        [2, "2024-05-01T10:00:01Z"],
        [3, "2024-05-01T10:00:03Z"],
        [4, "2024-05-01T10:00:02Z"],
        [5, "2024-04-30T23:59:59Z"]
      ]
      yield* Effect.forEach(stamps, ([i, at]) => Effect.flatMap(resultFor(i, at), store.upsertResult))
      const order = (rs: ReadonlyArray<AgenticAnalysis>) => rs.map((r) => r.source_object_id)
      assert.deepStrictEqual(order(yield* store.recentResults(10)), [3, 1, 4, 2, 5].map(oid))
      assert.deepStrictEqual(order(yield* store.recentResults(2)), [3, 1].map(oid))
      assert.deepStrictEqual(yield* store.recentResults(0), [])
      const [newest] = yield* store.recentResults(1)
      assert.deepStrictEqual(newest, yield* resultFor(3, "2024-05-01T10:00:03Z"))
    }))

    test("modelsUsed, resultIds, resultsByIds: the models of the results, most recent first, and their results by id", Effect.gen(function*() {
      const store = yield* ConversationStore
      assert.deepStrictEqual(yield* store.modelsUsed, [])
      yield* store.upsertResult(yield* resultFor(4, "2024-05-01T10:00:00Z", "model-a"))
      yield* store.upsertResult(yield* resultFor(2, "2024-05-03T10:00:00Z", "model-a"))
      yield* store.upsertResult(yield* resultFor(3, "2024-05-02T10:00:00Z", "model-b"))
      yield* store.upsertResult(yield* resultFor(1, "2024-04-01T10:00:00Z", "model-c"))
      assert.deepStrictEqual(yield* store.modelsUsed, [
        { model: "model-a", results: 2, latest: "2024-05-03T10:00:00Z" },
        { model: "model-b", results: 1, latest: "2024-05-02T10:00:00Z" },
        { model: "model-c", results: 1, latest: "2024-04-01T10:00:00Z" }
      ])
      assert.deepStrictEqual(yield* store.resultIds("model-a"), [oid(2), oid(4)])
      assert.deepStrictEqual(yield* store.resultIds("model-x"), [])
      const found = yield* store.resultsByIds([oid(4), oid(9), oid(3), oid(4)])
      assert.deepStrictEqual(found.map((r) => [r.source_object_id, r.analysis_metadata.model_used]), [[oid(3), "model-b"], [oid(4), "model-a"]])
      assert.deepStrictEqual(found[1], yield* resultFor(4, "2024-05-01T10:00:00Z", "model-a"), "a result reads back as written")
      assert.deepStrictEqual(yield* store.resultsByIds([]), [])
    }))

    test("a result's rationale and evidence_dropped read back as written", Effect.gen(function*() {
      const store = yield* ConversationStore
      const base = yield* resultFor(5, "2024-05-01T10:00:00Z")
      const rationale = {
        accuracy_compliance: { reason: "Fixed in the first reply.", evidence: [{ message: 2, quote: "I have reissued it today." }] },
        empathy_communication: { reason: "An apology, and the handle.", evidence: [{ message: 2, quote: "Sorry about that!" }] },
        efficiency_resolution: { reason: "One reply after 5 min.", evidence: [] }
      }
      const withRationale = { ...base, analysis_rationale: rationale, analysis_metadata: { ...base.analysis_metadata, evidence_dropped: 2 } }
      yield* store.upsertResult(withRationale)
      assert.deepStrictEqual(yield* store.resultsByIds([oid(5)]), [withRationale])
      assert.deepStrictEqual(yield* store.recentResults(1), [withRationale])
    }))

    test("listDeadLetters oldest first: by last failure ascending, ties by source id", Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* store.upsertDeadLetter(failure(1, "2024-05-01T10:00:03Z", errorReport("AnalyzerError", "RateLimited", 4)))
      yield* store.upsertDeadLetter(failure(2, "2024-05-01T10:00:01Z", errorReport("InvalidSourceDocument", null, 1)))
      yield* store.upsertDeadLetter(failure(3, "2024-05-01T10:00:02Z", errorReport("AnalyzerError", "BadRequest", 1)))
      yield* store.upsertDeadLetter(failure(4, "2024-05-01T10:00:01Z", errorReport("AnalyzerError", "BadRequest", 1)))
      yield* store.resolveDeadLetter(oid(3), "2024-05-01T11:00:00Z")
      const list = (filter: Parameters<typeof store.listDeadLetters>[0]) =>
        store.listDeadLetters(filter).pipe(Effect.map((ds) => ds.map((d) => d.source_object_id)))
      assert.deepStrictEqual(yield* list({ oldestFirst: true }), [2, 4, 3, 1].map(oid))
      assert.deepStrictEqual(yield* list({ status: "open", oldestFirst: true, limit: 2 }), [2, 4].map(oid))
      assert.deepStrictEqual(yield* list({ status: "open", oldestFirst: false }), [1, 2, 4].map(oid))
    }))

    test("scanResults: the results whose conversation is in [since, until), projected, of every model", Effect.gen(function*() {
      const store = yield* ConversationStore
      const at = (i: number, ts: string, model: string, withAgents = true) =>
        Effect.map(resultFor(i, "2024-05-01T10:00:00Z", model), (r): AgenticAnalysis => {
          const { agent_ids: _, ...summary } = r.conversation_summary
          return { ...r, source_timestamp: ts, conversation_summary: withAgents ? r.conversation_summary : summary }
        })
      const stored = yield* Effect.all([
        at(1, "2024-02-29T23:59:59Z", "model-a"),
        at(2, "2024-03-01T00:00:00Z", "model-a"),
        at(3, "2024-03-15T12:00:00Z", "model-b"),
        at(4, "2024-03-31T23:59:59Z", "model-a", false),
        at(5, "2024-04-01T00:00:00Z", "model-a")
      ])
      yield* Effect.forEach(stored, store.upsertResult)
      const rows = yield* Stream.runCollect(store.scanResults({ since: "2024-03-01T00:00:00Z", until: "2024-04-01T00:00:00Z" }))
      const byId = (rs: ReadonlyArray<ResultRow>) => [...rs].sort((a, b) => a.source_object_id < b.source_object_id ? -1 : 1)
      assert.deepStrictEqual(byId(rows), [stored[1]!, stored[2]!, stored[3]!].map(toResultRow))
      assert.deepStrictEqual(byId(rows)[0]?.conversation_summary.agent_ids, ["ShopHelp"])
      assert.notProperty(byId(rows)[2]?.conversation_summary, "agent_ids")
      assert.deepStrictEqual(yield* Stream.runCollect(store.scanResults({ since: "2025-01-01T00:00:00Z", until: "2026-01-01T00:00:00Z" })), [])

      assert.strictEqual(yield* store.latestConversationTime(undefined), "2024-04-01T00:00:00Z")
      assert.strictEqual(yield* store.latestConversationTime("model-b"), "2024-03-15T12:00:00Z")
      assert.isUndefined(yield* store.latestConversationTime("model-z"))
    }))

    test("scanResults streams a window larger than one server batch", Effect.gen(function*() {
      const store = yield* ConversationStore
      const n = 1_234
      const stored = yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
        Effect.map(resultFor(i, "2024-05-01T10:00:00Z"), (r) => ({ ...r, source_timestamp: `2024-06-${String(1 + (i % 28)).padStart(2, "0")}T10:00:00Z` })))
      yield* Effect.forEach(stored, store.upsertResult, { concurrency: "unbounded", discard: true })
      const count = yield* Stream.runFold(store.scanResults({ since: "2024-06-01T00:00:00Z", until: "2024-07-01T00:00:00Z" }), () => 0, (k: number) => k + 1)
      assert.strictEqual(count, n)
      assert.strictEqual(yield* store.latestConversationTime(undefined), "2024-06-28T10:00:00Z")
    }))

    test("countSourcesCreated counts source ids created in [since, until)", Effect.gen(function*() {
      const store = yield* ConversationStore
      const idAt = (iso: string, k: number) => `${(Date.parse(iso) / 1000).toString(16).padStart(8, "0")}${k.toString(16).padStart(16, "0")}`
      const ids = [
        idAt("2024-02-29T23:59:59Z", 1),
        idAt("2024-03-01T00:00:00Z", 2),
        idAt("2024-03-20T08:00:00Z", 3),
        idAt("2024-03-31T23:59:59Z", 4),
        idAt("2024-04-01T00:00:00Z", 5)
      ]
      yield* (yield* ContractSources).insert(ids.map((id, k) => ({ id, doc: conversationDoc(k) })))
      assert.strictEqual(yield* store.countSourcesCreated(new Date("2024-03-01T00:00:00Z"), new Date("2024-04-01T00:00:00Z")), 3)
      assert.strictEqual(yield* store.countSourcesCreated(new Date("2024-01-01T00:00:00Z"), new Date("2025-01-01T00:00:00Z")), 5)
      assert.strictEqual(yield* store.countSourcesCreated(new Date("2024-04-02T00:00:00Z"), new Date("2024-05-01T00:00:00Z")), 0)
    }))

    test("job state: save/load round-trip, overwrite, one document per job, reset", Effect.gen(function*() {
      const states = yield* JobStateStore
      assert.isUndefined(yield* states.load("job-a"))
      const first = jobState("job-a", oid(3), 1)
      yield* states.save(first)
      assert.deepStrictEqual(yield* states.load("job-a"), first)

      const second = { ...jobState("job-a", oid(9), 2), status: "completed" as const, last_updated: "2024-05-01T10:05:00.000Z" }
      yield* states.save(second)
      assert.deepStrictEqual(yield* states.load("job-a"), second)

      const other = initialJobState("job-b", new Date("2024-05-02T00:00:00.000Z"))
      yield* states.save(other)
      assert.deepStrictEqual(yield* states.load("job-b"), other)

      yield* states.reset("job-a")
      assert.isUndefined(yield* states.load("job-a"))
      assert.deepStrictEqual(yield* states.load("job-b"), other)
      yield* states.reset("job-a")
      yield* states.reset("never-saved")

      yield* states.save(first)
      assert.deepStrictEqual(yield* states.load("job-a"), first)
    }))

    test("lease: taken when free, held against others, re-entrant for its owner, renewed, released", Effect.gen(function*() {
      const states = yield* JobStateStore
      const t0 = new Date("2024-05-01T10:00:00.000Z")
      const at = (ms: number) => new Date(t0.getTime() + ms)
      assert.isUndefined(yield* states.readLease("job-a"))

      const a = { owner: "a", acquired_at: t0.toISOString(), expires_at: at(30_000).toISOString() }
      assert.deepStrictEqual(yield* states.acquireLease("job-a", "a", t0, 30_000), { _tag: "Acquired", lease: a })
      assert.deepStrictEqual(yield* states.readLease("job-a"), a)
      assert.deepStrictEqual(yield* states.acquireLease("job-a", "b", at(1_000), 30_000), { _tag: "Held", holder: a })
      // another job's lease is independent
      assert.strictEqual((yield* states.acquireLease("job-b", "b", at(1_000), 30_000))._tag, "Acquired")

      // the owner taking it again keeps acquired_at and extends it
      const again = yield* states.acquireLease("job-a", "a", at(10_000), 30_000)
      assert.deepStrictEqual(again, { _tag: "Acquired", lease: { ...a, expires_at: at(40_000).toISOString() } })
      assert.isTrue(yield* states.renewLease("job-a", "a", at(20_000), 30_000))
      assert.strictEqual((yield* states.readLease("job-a"))?.expires_at, at(50_000).toISOString())
      assert.isFalse(yield* states.renewLease("job-a", "b", at(20_000), 30_000))
      assert.isFalse(yield* states.renewLease("job-c", "a", at(20_000), 30_000))

      yield* states.releaseLease("job-a", "b")
      assert.strictEqual((yield* states.readLease("job-a"))?.owner, "a")
      yield* states.releaseLease("job-a", "a")
      assert.isUndefined(yield* states.readLease("job-a"))
      assert.deepStrictEqual(
        yield* states.acquireLease("job-a", "b", at(21_000), 30_000),
        { _tag: "Acquired", lease: { owner: "b", acquired_at: at(21_000).toISOString(), expires_at: at(51_000).toISOString() } }
      )
    }))

    test("lease: an expired lease is taken over, and its old owner can no longer renew it", Effect.gen(function*() {
      const states = yield* JobStateStore
      const t0 = new Date("2024-05-01T10:00:00.000Z")
      const at = (ms: number) => new Date(t0.getTime() + ms)
      yield* states.acquireLease("job-a", "dead", t0, 60_000)
      assert.strictEqual((yield* states.acquireLease("job-a", "me", at(59_999), 30_000))._tag, "Held")
      const taken = yield* states.acquireLease("job-a", "me", at(60_000), 30_000)
      assert.deepStrictEqual(taken, {
        _tag: "Acquired",
        lease: { owner: "me", acquired_at: at(60_000).toISOString(), expires_at: at(90_000).toISOString() }
      })
      assert.isFalse(yield* states.renewLease("job-a", "dead", at(61_000), 60_000))
      yield* states.releaseLease("job-a", "dead")
      assert.strictEqual((yield* states.readLease("job-a"))?.owner, "me")
    }))

    test("lease and state live side by side: save and reset leave the lease, releasing leaves the state", Effect.gen(function*() {
      const states = yield* JobStateStore
      const t0 = new Date("2024-05-01T10:00:00.000Z")
      const { lease } = (yield* states.acquireLease("job-a", "a", t0, 30_000)) as { readonly lease: unknown }
      assert.isUndefined(yield* states.load("job-a"))
      const state = jobState("job-a", oid(4), 1)
      yield* states.save(state)
      assert.deepStrictEqual(yield* states.load("job-a"), state)
      assert.deepStrictEqual(yield* states.readLease("job-a"), lease)

      yield* states.reset("job-a")
      assert.isUndefined(yield* states.load("job-a"))
      assert.deepStrictEqual(yield* states.readLease("job-a"), lease)

      yield* states.save(state)
      yield* states.releaseLease("job-a", "a")
      assert.isUndefined(yield* states.readLease("job-a"))
      assert.deepStrictEqual(yield* states.load("job-a"), state)
      yield* states.reset("job-a")
      assert.isUndefined(yield* states.load("job-a"))
      assert.strictEqual((yield* states.acquireLease("job-a", "b", t0, 30_000))._tag, "Acquired")
    }))

    if (subject.atomicConcurrentUpdates) {
      test("lease: of 20 instances racing for a free or an expired lease exactly one gets it", Effect.gen(function*() {
        const states = yield* JobStateStore
        const race = (at: Date, prefix: string) =>
          Effect.gen(function*() {
            const attempts = yield* Effect.forEach(
              Array.from({ length: 20 }, (_, k) => `${prefix}-${k}`),
              (owner) => states.acquireLease("job-a", owner, at, 30_000),
              { concurrency: "unbounded" }
            )
            const winners = attempts.flatMap((a) => (a._tag === "Acquired" ? [a.lease.owner] : []))
            assert.strictEqual(winners.length, 1, `winners: ${winners.join(", ")}`)
            assert.strictEqual((yield* states.readLease("job-a"))?.owner, winners[0])
            for (const a of attempts) if (a._tag === "Held") assert.strictEqual(a.holder.owner, winners[0])
          })
        const t0 = new Date("2024-05-01T10:00:00.000Z")
        yield* race(t0, "first")
        // the winner died: its lease expired, and 20 others try to take it over
        yield* race(new Date(t0.getTime() + 60_000), "second")
      }))
    }

    test("ping succeeds", Effect.gen(function*() {
      yield* (yield* ConversationStore).ping
    }))
  })
}
