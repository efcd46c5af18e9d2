import { Cause, Effect, Exit, Layer, Request, RequestResolver, Stream } from "effect"
import { type Document, type Filter, type FindCursor, MongoBulkWriteError, ObjectId, type Sort } from "mongodb"
import { DeadLetter, type DeadLetterFilter, type DeadLetterInput } from "../../domain/DeadLetter.ts"
import { StoreError } from "../../domain/Errors.ts"
import {
  AgenticAnalysis,
  DEAD_LETTER_COLLECTION,
  RESULT_COLLECTION,
  ResultRow,
  SOURCE_COLLECTION
} from "../../domain/Result.ts"
import { OBJECT_ID_PATTERN, type SourceRecord } from "../../domain/Source.ts"
import { ConversationStore, type DeadLetterCount, type ModelUsed, type ResultWindow } from "../../services/ConversationStore.ts"
import { decodeStored, isDuplicateKey, upsertWithRetryOnDuplicate, writeErrorsOf } from "./errors.ts"
import { ensureIndex, type IndexSpec } from "./indexes.ts"
import { Mongo } from "./MongoClient.ts"

class UpsertResult extends Request.Class<{ readonly result: AgenticAnalysis }, void, StoreError> {}

const allDuplicateKeys = (error: MongoBulkWriteError): boolean => {
  const errors = writeErrorsOf(error)
  return errors.length > 0 && errors.every((e) => e.code === 11000)
}

/** Updates sent in one command when results are stored again (see `upsertResolver`). */
const UPDATE_GROUP = 50

/** Every source `_id` that is an ObjectId: `$gte` the smallest one (range queries only match their own BSON type). */
const MIN_OBJECT_ID = new ObjectId("000000000000000000000000")

/**
 * The `_id` filter for "after the checkpoint". Only ObjectId `_id`s are ever read: a document
 * with another `_id` type (a string, a number) cannot be ordered against an ObjectId checkpoint,
 * so it is never returned by `readAfter` nor counted in the backlog (a documented limitation).
 */
const afterFilter = (after: string | null): Filter<Document> => ({
  _id: after === null ? { $gte: MIN_OBJECT_ID } : { $gt: new ObjectId(after) }
})

/** `_id` as the domain's 24-char lowercase hex; a non-ObjectId `_id` (never read by `readAfter`) is stringified. */
const idOf = (doc: Document): string => {
  const id: unknown = doc._id
  return id instanceof ObjectId ? id.toHexString() : typeof id === "string" ? id : JSON.stringify(id) ?? String(id)
}

const toRecord = (doc: Document): SourceRecord => ({ id: idOf(doc), doc })

const invalidId = (operation: string, id: string) =>
  new StoreError({ reason: "Invalid", operation, message: `not an ObjectId (24 lowercase hex digits): ${JSON.stringify(id).slice(0, 80)}` })

const INDEXES: ReadonlyArray<IndexSpec> = [
  { collection: RESULT_COLLECTION, key: { source_object_id: 1 }, unique: true, required: true },
  { collection: DEAD_LETTER_COLLECTION, key: { source_object_id: 1 }, unique: true, required: true },
  {
    collection: RESULT_COLLECTION,
    key: { "analysis_metadata.processed_timestamp": -1, source_object_id: -1 },
    unique: false,
    required: false
  },
  // the report's window (conversation time) and its default end
  { collection: RESULT_COLLECTION, key: { source_timestamp: -1 }, unique: false, required: false },
  { collection: DEAD_LETTER_COLLECTION, key: { status: 1, last_failed_at: -1 }, unique: false, required: false },
  { collection: DEAD_LETTER_COLLECTION, key: { "error.tag": 1 }, unique: false, required: false }
]

const decodeDeadLetter = (doc: Document) =>
  decodeStored(DeadLetter, "ConversationStore.listDeadLetters", `dead letter ${String(doc.source_object_id)}`)(doc)
const decodeResult = (doc: Document) =>
  decodeStored(AgenticAnalysis, "ConversationStore.recentResults", `result ${String(doc.source_object_id)}`)(doc)
const decodeRow = (doc: Document) => decodeStored(ResultRow, "ConversationStore.scanResults", `result ${String(doc.source_object_id)}`)(doc)

/** The fields of `ResultRow`: a report never reads the persistence metadata or the final sentiment. */
const ROW_PROJECTION: Document = {
  _id: 0,
  source_object_id: 1,
  source_timestamp: 1,
  "conversation_summary.conversation_type": 1,
  "conversation_summary.intent": 1,
  "conversation_summary.topic": 1,
  "conversation_summary.categorization": 1,
  "conversation_summary.agent_ids": 1,
  performance_metrics: 1,
  "analysis_metadata.processed_timestamp": 1,
  "analysis_metadata.analysis_version": 1,
  "analysis_metadata.model_used": 1,
  "analysis_metadata.usage": 1,
  "analysis_metadata.estimated_cost_usd": 1
}

/** `_id`s created at or after `t` (ObjectIds order by their creation second first). */
const idFromTime = (t: Date): ObjectId => ObjectId.createFromTime(Math.ceil(t.getTime() / 1000))

/**
 * `ConversationStore` on MongoDB: `sentiment_analysis` is read in `_id` order, results and
 * dead letters are upserted by `source_object_id` under unique indexes created at start-up.
 * Needs no transactions, change streams or pipeline updates, so it also runs on FerretDB.
 */
export class MongoConversationStore {
  /** Creates the indexes first: for the commands that write. */
  static readonly layer: Layer.Layer<ConversationStore, StoreError, Mongo> = Layer.effect(ConversationStore, make(true))
  /** Creates nothing: for the commands that only read (a fresh database stays empty). */
  static readonly layerReadOnly: Layer.Layer<ConversationStore, StoreError, Mongo> = Layer.effect(ConversationStore, make(false))
}

function make(prepare: boolean) {
  return Effect.gen(function*() {
    const mongo = yield* Mongo
    if (prepare) for (const spec of INDEXES) yield* ensureIndex(mongo, "ConversationStore.ensureIndexes", spec)

    const sources = mongo.db.collection(SOURCE_COLLECTION)
    const results = mongo.db.collection(RESULT_COLLECTION)
    const deadLetters = mongo.db.collection(DEAD_LETTER_COLLECTION)

    /**
     * Pulls the cursor batch by batch (one chunk per server batch) and closes it when the
     * stream ends, fails or is interrupted, so no server cursor is left open.
     */
    const cursorStream = <A>(operation: string, open: () => FindCursor<Document>, map: (doc: Document) => A): Stream.Stream<A, StoreError> =>
      Stream.scoped(Stream.fromPull(Effect.gen(function*() {
        const cursor = yield* Effect.acquireRelease(
          Effect.sync(open),
          (c) => Effect.tryPromise(() => c.close()).pipe(Effect.ignore)
        )
        return Effect.flatMap(
          mongo.use(operation, () => cursor.next()),
          (first) =>
            first === null
              ? Cause.done()
              : Effect.succeed([map(first), ...cursor.readBufferedDocuments().map(map)] as const)
        )
      })))

    const readAfter = (after: string | null, limit: number): Stream.Stream<SourceRecord, StoreError> => {
      const operation = "ConversationStore.readAfter"
      if (after !== null && !OBJECT_ID_PATTERN.test(after)) return Stream.fail(invalidId(operation, after))
      // limit(0) means "no limit" to MongoDB
      if (limit <= 0) return Stream.empty
      return cursorStream(operation, () => sources.find(afterFilter(after)).sort({ _id: 1 }).limit(limit), toRecord).pipe(
        Stream.withSpan(operation)
      )
    }

    const readByIds = (ids: ReadonlyArray<string>): Stream.Stream<SourceRecord, StoreError> => {
      const wanted = [...new Set(ids.filter((id) => OBJECT_ID_PATTERN.test(id)))].map((id) => new ObjectId(id))
      if (wanted.length === 0) return Stream.empty
      return cursorStream("ConversationStore.readByIds", () => sources.find({ _id: { $in: wanted } }).sort({ _id: 1 }), toRecord).pipe(
        Stream.withSpan("ConversationStore.readByIds")
      )
    }

    // Results finishing together (same tick, e.g. a fast analyzer at high concurrency) go to
    // the server in one round trip; a lone result is a batch of one. Each caller still waits
    // for its own write, so a result is persisted as it completes. New results (the common
    // case) are inserted; those that exist already (a re-run) are updated by key. Inserting
    // first is what makes FerretDB's SQLite backend fast: its updates scan the collection.
    const upsertResolver = RequestResolver.make<UpsertResult>((entries) =>
      mongo.use("ConversationStore.upsertResult", async () => {
        const docs = entries.map(({ request: { result } }) => result)
        const existing: Array<AgenticAnalysis> = []
        try {
          // Copies: the driver adds an `_id` to what it inserts.
          await results.insertMany(docs.map((d) => ({ ...d })), { ordered: false })
        } catch (error) {
          if (!(error instanceof MongoBulkWriteError) || !allDuplicateKeys(error)) throw error
          for (const e of writeErrorsOf(error)) existing.push(docs[e.index]!)
        }
        if (existing.length === 0) return
        // The existing documents' `_id`s in one query, then updates by `_id`: FerretDB (SQLite)
        // looks up only an `_id` equality by index and scans the collection for any other filter,
        // once per update. An upsert by `_id` re-creates a document deleted in between.
        const ids = new Map<string, ObjectId>()
        const found = await results.find({ source_object_id: { $in: existing.map((r) => r.source_object_id) } }, { projection: { _id: 1, source_object_id: 1 } }).toArray()
        for (const d of found) if (d._id instanceof ObjectId) ids.set(String(d.source_object_id), d._id)
        // At most UPDATE_GROUP updates a command: FerretDB 1.24 (SQLite) never answers an update
        // command of 100 upserting updates (90 take 0.3 s), and a group of re-stored results
        // (a Message Batch collected twice) can be 200.
        for (let i = 0; i < existing.length; i += UPDATE_GROUP) {
          try {
            await results.bulkWrite(
              existing.slice(i, i + UPDATE_GROUP).map((result) => {
                const _id = ids.get(result.source_object_id)
                const filter: Filter<Document> = _id !== undefined ? { _id } : { source_object_id: result.source_object_id }
                return { updateOne: { filter, update: { $set: result }, upsert: true } }
              }),
              { ordered: false }
            )
          } catch (error) {
            // Two upserts of a new key race: the unique index lets one insert; the other
            // writer's result for the same record is already there.
            if (!(error instanceof MongoBulkWriteError) || !allDuplicateKeys(error)) throw error
          }
        }
      }).pipe(Effect.andThen(Effect.sync(() => entries.forEach((entry) => entry.completeUnsafe(Exit.void)))))
    ).pipe(RequestResolver.batchN(1000))

    const upsertResult = (result: AgenticAnalysis): Effect.Effect<void, StoreError> =>
      Effect.request(new UpsertResult({ result }), upsertResolver).pipe(Effect.withSpan("ConversationStore.upsertResult"))

    /**
     * One atomic update with the same outcome as `foldDeadLetter` (no pipeline update: FerretDB
     * lacks it). With an `occurrence`, the filter leaves out a dead letter that already folded
     * it in; the upsert then collides with it on the unique index, and that is the no-op.
     */
    const upsertDeadLetter = (input: DeadLetterInput): Effect.Effect<void, StoreError> =>
      mongo.use("ConversationStore.upsertDeadLetter", async () => {
        const write = () =>
          deadLetters.updateOne(
            {
              source_object_id: input.source_object_id,
              ...(input.occurrence !== undefined ? { last_occurrence: { $ne: input.occurrence } } : {})
            },
            {
              $set: {
                conversation_id: `conv_${input.source_object_id}`,
                job_name: input.job_name,
                analysis_version: input.analysis_version,
                status: "open",
                error: input.error,
                last_failed_at: input.failed_at,
                resolved_at: null,
                ...(input.occurrence !== undefined ? { last_occurrence: input.occurrence } : {})
              },
              $inc: { attempts: input.error.attempts, failures: 1 },
              $setOnInsert: { first_failed_at: input.failed_at }
            },
            { upsert: true }
          )
        try {
          // A concurrent upsert may insert the document first: the retry then updates it.
          await upsertWithRetryOnDuplicate(write)
        } catch (error) {
          // Still a collision: the document exists and has folded this occurrence in already.
          if (input.occurrence === undefined || !isDuplicateKey(error)) throw error
        }
      }).pipe(Effect.withSpan("ConversationStore.upsertDeadLetter"))

    const resolveDeadLetter = (sourceId: string, at: string): Effect.Effect<boolean, StoreError> =>
      mongo.use("ConversationStore.resolveDeadLetter", async () => {
        const r = await deadLetters.updateOne(
          { source_object_id: sourceId, status: "open" },
          { $set: { status: "resolved", resolved_at: at } }
        )
        return r.matchedCount > 0
      }).pipe(Effect.withSpan("ConversationStore.resolveDeadLetter"))

    const markRetryRequested = (ids: ReadonlyArray<string>, at: string | null): Effect.Effect<number, StoreError> =>
      ids.length === 0 ? Effect.succeed(0) : mongo.use("ConversationStore.markRetryRequested", async () => {
        const r = await deadLetters.updateMany(
          { source_object_id: { $in: [...ids] }, ...(at !== null ? { status: "open" } : {}) },
          { $set: { retry_requested_at: at } }
        )
        return r.modifiedCount
      }).pipe(Effect.withSpan("ConversationStore.markRetryRequested"))

    const listDeadLetters = (filter: DeadLetterFilter): Effect.Effect<ReadonlyArray<DeadLetter>, StoreError> => {
      if (filter.limit !== undefined && filter.limit <= 0) return Effect.succeed([])
      const query: Filter<Document> = {
        ...(filter.status !== undefined ? { status: filter.status } : {}),
        ...(filter.errorTag !== undefined ? { $or: [{ "error.tag": filter.errorTag }, { "error.reason": filter.errorTag }] } : {}),
        ...(filter.ids !== undefined || filter.afterId !== undefined
          ? {
            source_object_id: {
              ...(filter.ids !== undefined ? { $in: [...filter.ids] } : {}),
              ...(filter.afterId !== undefined ? { $gt: filter.afterId } : {})
            }
          }
          : {}),
        ...(filter.retryRequested === true ? { retry_requested_at: { $exists: true, $ne: null } } : {})
      }
      const sort: Sort = { last_failed_at: filter.oldestFirst === true ? 1 : -1, source_object_id: 1 }
      return mongo.use("ConversationStore.listDeadLetters", () => {
        const cursor = deadLetters.find(query, { projection: { _id: 0 } }).sort(sort)
        return (filter.limit === undefined ? cursor : cursor.limit(filter.limit)).toArray()
      }).pipe(
        Effect.flatMap((docs) => Effect.forEach(docs, decodeDeadLetter)),
        Effect.withSpan("ConversationStore.listDeadLetters")
      )
    }

    const countDeadLetters = (status: "open" | "resolved"): Effect.Effect<ReadonlyArray<DeadLetterCount>, StoreError> =>
      mongo.use("ConversationStore.countDeadLetters", () =>
        deadLetters.aggregate<{ _id: unknown; count: number }>([
          { $match: { status } },
          // `{ $count: {} }` inside `$group` is wrong on FerretDB
          { $group: { _id: "$error.tag", count: { $sum: 1 } } }
        ]).toArray()).pipe(
          Effect.map((groups) =>
            groups
              .map((g): DeadLetterCount => ({ tag: typeof g._id === "string" ? g._id : String(g._id), count: g.count }))
              .sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
          ),
          Effect.withSpan("ConversationStore.countDeadLetters")
        )

    const counts = (after: string | null) => {
      const operation = "ConversationStore.counts"
      if (after !== null && !OBJECT_ID_PATTERN.test(after)) return Effect.fail(invalidId(operation, after))
      return mongo.use(operation, async () => {
        const [s, r, open, backlog, unreadable] = await Promise.all([
          sources.estimatedDocumentCount(),
          results.estimatedDocumentCount(),
          deadLetters.countDocuments({ status: "open" }),
          sources.countDocuments(afterFilter(after)),
          sources.countDocuments({ _id: { $not: { $type: "objectId" } } })
        ])
        return { sources: s, results: r, openDeadLetters: open, backlog, unreadable }
      }).pipe(Effect.withSpan(operation))
    }

    const backlog = (after: string | null) => {
      const operation = "ConversationStore.backlog"
      if (after !== null && !OBJECT_ID_PATTERN.test(after)) return Effect.fail(invalidId(operation, after))
      return mongo.use(operation, () => sources.countDocuments(afterFilter(after))).pipe(Effect.withSpan(operation))
    }

    const recentResults = (limit: number): Effect.Effect<ReadonlyArray<AgenticAnalysis>, StoreError> => {
      if (limit <= 0) return Effect.succeed([])
      return mongo.use("ConversationStore.recentResults", () =>
        results.find({}, { projection: { _id: 0 } })
          .sort({ "analysis_metadata.processed_timestamp": -1, source_object_id: -1 })
          .limit(limit)
          .toArray()).pipe(
          Effect.flatMap((docs) => Effect.forEach(docs, decodeResult)),
          Effect.withSpan("ConversationStore.recentResults")
        )
    }

    // distinct, then per model a count and its latest result: FerretDB lacks `$max` in `$group`,
    // and there are only ever a handful of models.
    const modelsUsed: Effect.Effect<ReadonlyArray<ModelUsed>, StoreError> = mongo.use("ConversationStore.modelsUsed", async () => {
      const models = (await results.distinct("analysis_metadata.model_used")).filter((m): m is string => typeof m === "string")
      return Promise.all(models.map(async (model): Promise<ModelUsed> => {
        const filter = { "analysis_metadata.model_used": model }
        const [count, latest] = await Promise.all([
          results.countDocuments(filter),
          results.find(filter, { projection: { _id: 0, "analysis_metadata.processed_timestamp": 1 } })
            .sort({ "analysis_metadata.processed_timestamp": -1 })
            .limit(1)
            .next()
        ])
        const at: unknown = (latest?.analysis_metadata as { processed_timestamp?: unknown } | undefined)?.processed_timestamp
        return { model, results: count, latest: typeof at === "string" ? at : "" }
      }))
    }).pipe(
      Effect.map((models) =>
        [...models].sort((a, b) => (a.latest < b.latest ? 1 : a.latest > b.latest ? -1 : a.model < b.model ? -1 : a.model > b.model ? 1 : 0))
      ),
      Effect.withSpan("ConversationStore.modelsUsed")
    )

    const resultIds = (modelUsed: string): Effect.Effect<ReadonlyArray<string>, StoreError> =>
      mongo.use("ConversationStore.resultIds", () =>
        results.find({ "analysis_metadata.model_used": modelUsed }, { projection: { _id: 0, source_object_id: 1 } })
          .sort({ source_object_id: 1 })
          .toArray()).pipe(
          Effect.map((docs) => docs.map((d) => String(d.source_object_id))),
          Effect.withSpan("ConversationStore.resultIds")
        )

    // A few thousand ids at most per query, so the filter stays far below the 16 MB command limit.
    const ID_CHUNK = 5_000
    const resultsByIds = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<AgenticAnalysis>, StoreError> => {
      const unique = [...new Set(ids)]
      const chunks = Array.from({ length: Math.ceil(unique.length / ID_CHUNK) }, (_, i) => unique.slice(i * ID_CHUNK, (i + 1) * ID_CHUNK))
      return Effect.forEach(chunks, (chunk) =>
        mongo.use("ConversationStore.resultsByIds", () =>
          results.find({ source_object_id: { $in: chunk } }, { projection: { _id: 0 } }).toArray()).pipe(
            Effect.flatMap((docs) => Effect.forEach(docs, decodeResult))
          )).pipe(
          Effect.map((parts) => parts.flat().sort((a, b) => (a.source_object_id < b.source_object_id ? -1 : a.source_object_id > b.source_object_id ? 1 : 0))),
          Effect.withSpan("ConversationStore.resultsByIds")
        )
    }

    // Server batches of 200 rows: with 1,000 the report's peak RSS over 100,000 results was
    // 1.4–1.5× that over 1,000 (each reply's buffer and its rows outlive young-generation
    // collections); with 200 it stays at the 1,000-result figure (bench/README.md, report).
    const scanResults = (window: ResultWindow): Stream.Stream<ResultRow, StoreError> =>
      cursorStream(
        "ConversationStore.scanResults",
        () => results.find({ source_timestamp: { $gte: window.since, $lt: window.until } }, { projection: ROW_PROJECTION, batchSize: 200 }),
        (doc) => doc
      ).pipe(Stream.mapEffect(decodeRow), Stream.withSpan("ConversationStore.scanResults"))

    const latestConversationTime = (modelUsed: string | undefined): Effect.Effect<string | undefined, StoreError> =>
      mongo.use("ConversationStore.latestConversationTime", () =>
        results.find(modelUsed === undefined ? {} : { "analysis_metadata.model_used": modelUsed }, {
          projection: { _id: 0, source_timestamp: 1 }
        }).sort({ source_timestamp: -1 }).limit(1).toArray()).pipe(
          Effect.map(([doc]) => (typeof doc?.source_timestamp === "string" ? doc.source_timestamp : undefined)),
          Effect.withSpan("ConversationStore.latestConversationTime")
        )

    const countSourcesCreated = (since: Date, until: Date): Effect.Effect<number, StoreError> =>
      mongo.use("ConversationStore.countSourcesCreated", () =>
        sources.countDocuments({ _id: { $gte: idFromTime(since), $lt: idFromTime(until) } })).pipe(
          Effect.withSpan("ConversationStore.countSourcesCreated")
        )

    const ping = mongo.use("ConversationStore.ping", (db) => db.command({ ping: 1 })).pipe(
      Effect.asVoid,
      Effect.withSpan("ConversationStore.ping")
    )

    return ConversationStore.of({
      readAfter,
      readByIds,
      upsertResult,
      upsertDeadLetter,
      resolveDeadLetter,
      markRetryRequested,
      listDeadLetters,
      countDeadLetters,
      counts,
      backlog,
      recentResults,
      modelsUsed,
      resultIds,
      resultsByIds,
      scanResults,
      latestConversationTime,
      countSourcesCreated,
      ping
    })
  })
}
