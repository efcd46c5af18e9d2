import { Effect, Layer, Redacted } from "effect"
import { type Db, MongoClient, ObjectId } from "mongodb"
import { JOB_NAME, RESULT_COLLECTION, SOURCE_COLLECTION, JOB_STATE_COLLECTION, ANALYSIS_VERSION } from "../src/domain/Result.ts"
import { runBatch } from "../src/programs/Batch.ts"
import { Analyzer } from "../src/services/Analyzer.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { JobStateStore } from "../src/services/JobStateStore.ts"
import { MemoryConversationStore, makeMemoryStoreState } from "../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { Mongo } from "../src/store/mongo/MongoClient.ts"
import { MongoConversationStore } from "../src/store/mongo/MongoConversationStore.ts"
import { MongoJobStateStore } from "../src/store/mongo/MongoJobStateStore.ts"
import { Settings } from "../src/services/Settings.ts"
import { conversationDoc, fixedScores, oid, records, runServices } from "../test/support/fixtures.ts"
import { benchSettings, log, type OpSummary, OpTimes, processCpuSeconds, quiet, round, timed } from "./support.ts"

/** An analyzer that answers at once with a fixed value: what is left is the pipeline's own cost. */
export const instantAnalyzer = Layer.succeed(
  Analyzer,
  Analyzer.of({ provider: "bench-fixed", analyze: () => Effect.succeed({ scores: fixedScores, model: "bench-fixed", usage: undefined }) })
)

/** `runBatch` until a batch comes back short (the periodic program does the same with a backlog). */
export const drain = Effect.gen(function*() {
  const settings = yield* Settings
  let batches = 0
  let processed = 0
  while (true) {
    const batch = yield* runBatch()
    batches++
    processed += batch.records_processed
    if (batch.records_processed < settings.batchSize) return { batches, processed }
  }
})

export interface MemoryOverhead {
  readonly records: number
  readonly batch_size: number
  readonly concurrency: number
  readonly batches: number
  readonly seconds: number
  readonly records_per_s: number
  readonly us_per_record: number
}

export const runMemoryOverhead = async (options: { readonly records: number; readonly batchSize: number; readonly concurrency: number }): Promise<MemoryOverhead> => {
  log(`overhead (memory): ${options.records} records, batch ${options.batchSize}, concurrency ${options.concurrency}`)
  const store = makeMemoryStoreState(records(options.records))
  const { layer: settings } = benchSettings({ batchSize: options.batchSize, concurrency: options.concurrency, mongoUri: "memory" })
  const layer = Layer.mergeAll(runServices, MemoryConversationStore.layer(store), MemoryJobStateStore.layer(), instantAnalyzer, settings)
  const { value, seconds } = await timed(() => Effect.runPromise(drain.pipe(Effect.provide(layer), quiet)))
  if (store.results.size !== options.records) throw new Error(`memory overhead run persisted ${store.results.size} of ${options.records}`)
  return {
    records: options.records,
    batch_size: options.batchSize,
    concurrency: options.concurrency,
    batches: value.batches,
    seconds: round(seconds, 3),
    records_per_s: round(options.records / seconds, 1),
    us_per_record: round(seconds * 1e6 / options.records, 1)
  }
}

// ---------------------------------------------------------------------------------------------
// MongoDB: the pipeline against a plain driver loop

/** Inserts `n` source documents (ids `oid(0)`… in order) in chunks; returns the seconds it took. */
export const seedSources = async (db: Db, n: number, doc: (i: number) => Record<string, unknown> = conversationDoc, chunk = 1000): Promise<number> => {
  const { seconds } = await timed(async () => {
    const sources = db.collection(SOURCE_COLLECTION)
    for (let i = 0; i < n; i += chunk) {
      const docs = Array.from({ length: Math.min(chunk, n - i) }, (_, k) => ({ _id: new ObjectId(oid(i + k)), ...doc(i + k) }))
      await sources.insertMany(docs, { ordered: false })
    }
  })
  return seconds
}

export interface MongoSide {
  readonly records: number
  readonly seconds: number
  readonly records_per_s: number
  readonly batches: number
  /** CPU seconds this Node process used during the run. */
  readonly node_cpu_s: number
  /** CPU seconds the database server used during the run (FerretDB only). */
  readonly server_cpu_s: number | undefined
  readonly ops: ReadonlyArray<OpSummary>
}

const cpuDelta = (serverPid: number | undefined) => {
  const node0 = process.cpuUsage()
  const server0 = serverPid !== undefined ? processCpuSeconds(serverPid) : undefined
  return () => {
    const node = process.cpuUsage(node0)
    const server1 = serverPid !== undefined ? processCpuSeconds(serverPid) : undefined
    return {
      node_cpu_s: round((node.user + node.system) / 1e6, 2),
      server_cpu_s: server0 !== undefined && server1 !== undefined ? round(server1 - server0, 2) : undefined
    }
  }
}

/** Decorates the stores so every call's latency lands in `times` (a few µs per call). */
const timedStores = (times: OpTimes) =>
  Layer.effect(
    ConversationStore,
    Effect.gen(function*() {
      const s = yield* ConversationStore
      return ConversationStore.of({
        ...s,
        upsertResult: (r) => times.effect("upsertResult", s.upsertResult(r)),
        upsertDeadLetter: (d) => times.effect("upsertDeadLetter", s.upsertDeadLetter(d)),
        resolveDeadLetter: (id, at) => times.effect("resolveDeadLetter", s.resolveDeadLetter(id, at)),
        listDeadLetters: (filter) => times.effect("listDeadLetters (open, per batch)", s.listDeadLetters(filter)),
        counts: (after) => times.effect("counts", s.counts(after)),
        backlog: (after) => times.effect("backlog (gauge, in the background)", s.backlog(after))
      })
    })
  ).pipe(
    Layer.merge(Layer.effect(
      JobStateStore,
      Effect.gen(function*() {
        const j = yield* JobStateStore
        return JobStateStore.of({
          ...j,
          load: (name) => times.effect("jobState.load", j.load(name)),
          save: (state) => times.effect("jobState.save (checkpoint)", j.save(state))
        })
      })
    ))
  )

/** The real pipeline: `runBatch` until drained over `MongoConversationStore` and `MongoJobStateStore`. */
export const runPipelineOnMongo = async (options: {
  readonly uri: string
  readonly dbName: string
  readonly records: number
  readonly batchSize: number
  readonly concurrency: number
  readonly serverPid: number | undefined
}): Promise<MongoSide> => {
  const { settings, layer: settingsLayer } = benchSettings({
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    mongoUri: options.uri,
    dbName: options.dbName
  })
  const times = new OpTimes()
  const stores = timedStores(times).pipe(
    Layer.provide(Layer.mergeAll(MongoConversationStore.layer, MongoJobStateStore.layer)),
    Layer.provide(Mongo.layerFrom(Redacted.make(options.uri), options.dbName, settings.mongo))
  )
  const program = Effect.gen(function*() {
    // the layer (connect, indexes) is built before the clock starts
    const cpu = cpuDelta(options.serverPid)
    const start = performance.now()
    const { batches, processed } = yield* drain
    return { batches, processed, seconds: (performance.now() - start) / 1000, ...cpu() }
  })
  const run = await Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(runServices, stores, instantAnalyzer).pipe(Layer.provideMerge(settingsLayer))), quiet))
  if (run.processed !== options.records) throw new Error(`pipeline processed ${run.processed} of ${options.records}`)
  return {
    records: run.processed,
    seconds: round(run.seconds, 3),
    records_per_s: round(run.processed / run.seconds, 2),
    batches: run.batches,
    node_cpu_s: run.node_cpu_s,
    server_cpu_s: run.server_cpu_s,
    ops: times.summary(run.processed)
  }
}

/** A result-shaped document built straight from the raw source document (no decoding, fixed scores). */
const resultShaped = (doc: Record<string, any>, now: string) => {
  const tweets: Array<Record<string, unknown>> = doc.conversation?.tweets ?? []
  const customer = tweets.filter((t) => t.inbound === true).length
  const id = (doc._id as ObjectId).toHexString()
  const c = doc.conversation?.classification ?? {}
  return {
    conversation_id: `conv_${id}`,
    source_object_id: id,
    source_timestamp: String(tweets[0]?.created_at ?? now),
    conversation_summary: {
      total_messages: tweets.length,
      customer_messages: customer,
      agent_messages: tweets.length - customer,
      conversation_type: c.categorization ?? null,
      intent: c.intent ?? null,
      topic: c.topic ?? null,
      final_sentiment: doc.sentiment_analysis?.overall_sentiment ?? null,
      categorization: c.categorization ?? null
    },
    performance_metrics: {
      accuracy_compliance: {
        resolution_completeness: fixedScores.resolution_completeness,
        accuracy_automated_responses: fixedScores.accuracy_automated_responses
      },
      empathy_communication: {
        empathy_score: 8,
        empathy_subfactors: fixedScores.empathy_subfactors,
        sentiment_shift: fixedScores.sentiment_shift,
        clarity_language: 8,
        clarity_subfactors: fixedScores.clarity_subfactors,
        cultural_sensitivity: fixedScores.cultural_sensitivity,
        adaptability_quotient: fixedScores.adaptability_quotient,
        conversation_flow: fixedScores.conversation_flow
      },
      efficiency_resolution: {
        followup_necessity: fixedScores.followup_necessity,
        customer_effort_score: fixedScores.customer_effort_score,
        first_response_accuracy: fixedScores.first_response_accuracy,
        csat_resolution: fixedScores.csat_resolution,
        escalation_rate: fixedScores.escalation_rate,
        customer_effort_reduction: fixedScores.customer_effort_reduction
      }
    },
    analysis_metadata: {
      processed_timestamp: now,
      source_collection: SOURCE_COLLECTION,
      analysis_version: ANALYSIS_VERSION,
      model_used: "bench-fixed"
    },
    persistence_metadata: { inserted_timestamp: now, collection: RESULT_COLLECTION, job_name: JOB_NAME }
  }
}

/** Runs `f` over `items` with at most `concurrency` at a time. */
const pool = async <A>(items: ReadonlyArray<A>, concurrency: number, f: (a: A) => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < items.length) await f(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/**
 * The same work with the bare driver and no Effect: read a batch after the checkpoint, upsert a
 * result per document with a promise pool, then save the checkpoint once per batch. Same
 * unique indexes as the pipeline creates, so the database does the same lookups.
 * `insert-first` tries `insertOne` and upserts only when the result exists (E11000): the
 * write FerretDB does cheaply, for comparison.
 */
export const runDriverLoop = async (options: {
  readonly uri: string
  readonly dbName: string
  readonly records: number
  readonly batchSize: number
  readonly concurrency: number
  readonly serverPid: number | undefined
  readonly write: "upsert" | "insert-first"
}): Promise<MongoSide> => {
  const client = await new MongoClient(options.uri).connect()
  try {
    const db = client.db(options.dbName)
    const sources = db.collection(SOURCE_COLLECTION)
    const results = db.collection(RESULT_COLLECTION)
    const jobState = db.collection(JOB_STATE_COLLECTION)
    await results.createIndex({ source_object_id: 1 }, { unique: true })
    await jobState.createIndex({ job_name: 1 }, { unique: true })
    const times = new OpTimes()
    const cpu = cpuDelta(options.serverPid)
    const start = performance.now()
    let checkpoint = new ObjectId("000000000000000000000000")
    let processed = 0
    let batches = 0
    while (true) {
      const docs = await times.promise("find batch", () =>
        sources.find({ _id: { $gt: checkpoint } }).sort({ _id: 1 }).limit(options.batchSize).toArray())
      batches++
      await pool(docs, options.concurrency, async (doc) => {
        const result = resultShaped(doc, new Date().toISOString())
        const upsert = () => results.updateOne({ source_object_id: result.source_object_id }, { $set: result }, { upsert: true })
        if (options.write === "upsert") {
          await times.promise("upsertResult", upsert)
          return
        }
        await times.promise("insertOne result", async () => {
          try {
            await results.insertOne({ ...result })
          } catch (error) {
            if ((error as { code?: unknown }).code !== 11000) throw error
            await upsert()
          }
        })
      })
      processed += docs.length
      if (docs.length > 0) {
        checkpoint = docs[docs.length - 1]!._id as ObjectId
        await times.promise("checkpoint save (per batch)", () =>
          jobState.updateOne(
            { job_name: JOB_NAME },
            { $set: { last_processed_object_id: checkpoint.toHexString(), last_updated: new Date().toISOString(), status: "running" } },
            { upsert: true }
          ))
      }
      if (docs.length < options.batchSize) break
    }
    const seconds = (performance.now() - start) / 1000
    const usage = cpu()
    if (processed !== options.records) throw new Error(`driver loop processed ${processed} of ${options.records}`)
    const stored = await results.countDocuments({})
    if (stored !== options.records) throw new Error(`driver loop stored ${stored} of ${options.records}`)
    return {
      records: processed,
      seconds: round(seconds, 3),
      records_per_s: round(processed / seconds, 2),
      batches,
      ...usage,
      ops: times.summary(processed)
    }
  } finally {
    await client.close()
  }
}

export interface MongoOverhead {
  readonly server: string
  readonly records: number
  readonly batch_size: number
  readonly concurrency: number
  readonly seed_seconds: number
  readonly pipeline: MongoSide
  /** The plain loop writing like the pipeline does: insertOne, updating by key only on E11000. */
  readonly driver_loop: MongoSide
  /** The plain loop with `updateOne(..., {upsert: true})` per result, on `upsert_loop_records` records. */
  readonly driver_loop_upsert: MongoSide | undefined
  readonly upsert_loop_records: number
  /** pipeline / driver_loop records per second, same records and same writes. */
  readonly ratio: number
}

/**
 * The pipeline and the plain loops over the same source documents, each in a fresh database.
 * The upsert loop runs on its own (smaller) count: on FerretDB each upsert scans the results.
 */
export const runMongoOverhead = async (options: {
  readonly uri: string
  readonly server: string
  readonly serverPid: number | undefined
  readonly records: number
  readonly upsertLoopRecords: number
  readonly batchSize: number
  readonly concurrency: number
}): Promise<MongoOverhead> => {
  const stamp = `${process.pid}_${Date.now()}`
  const dbs = { pipeline: `cpa_bench_pipeline_${stamp}`, insert: `cpa_bench_insert_${stamp}`, upsert: `cpa_bench_upsert_${stamp}` }
  const client = await new MongoClient(options.uri).connect()
  try {
    log(`overhead (mongo): seeding ${options.records} source documents per database`)
    const seed1 = await seedSources(client.db(dbs.pipeline), options.records)
    const seed2 = await seedSources(client.db(dbs.insert), options.records)
    if (options.upsertLoopRecords > 0) await seedSources(client.db(dbs.upsert), options.upsertLoopRecords)
    log(`overhead (mongo): seeded in ${round(seed1, 1)} s + ${round(seed2, 1)} s; pipeline run`)
    const common = { uri: options.uri, batchSize: options.batchSize, concurrency: options.concurrency, serverPid: options.serverPid }
    const pipeline = await runPipelineOnMongo({ ...common, records: options.records, dbName: dbs.pipeline })
    const stored = await client.db(dbs.pipeline).collection(RESULT_COLLECTION).countDocuments({})
    if (stored !== options.records) throw new Error(`pipeline stored ${stored} of ${options.records}`)
    log(`overhead (mongo): pipeline ${pipeline.records_per_s} records/s; driver loop (insertOne)`)
    const driver = await runDriverLoop({ ...common, records: options.records, dbName: dbs.insert, write: "insert-first" })
    log(`overhead (mongo): driver loop ${driver.records_per_s} records/s`)
    let upsert: MongoSide | undefined
    if (options.upsertLoopRecords > 0) {
      log(`overhead (mongo): driver loop with updateOne upsert, ${options.upsertLoopRecords} records`)
      upsert = await runDriverLoop({ ...common, records: options.upsertLoopRecords, dbName: dbs.upsert, write: "upsert" })
      log(`overhead (mongo): driver loop (upsert) ${upsert.records_per_s} records/s`)
    }
    return {
      server: options.server,
      records: options.records,
      batch_size: options.batchSize,
      concurrency: options.concurrency,
      seed_seconds: round((seed1 + seed2) / 2, 2),
      pipeline,
      driver_loop: driver,
      driver_loop_upsert: upsert,
      upsert_loop_records: options.upsertLoopRecords,
      ratio: round(pipeline.records_per_s / driver.records_per_s, 3)
    }
  } finally {
    for (const db of Object.values(dbs)) await client.db(db).dropDatabase().catch(() => undefined)
    await client.close()
  }
}
