import { randomBytes } from "node:crypto"
import { Effect, Layer, Redacted } from "effect"
import { MongoClient, ObjectId } from "mongodb"
import { SOURCE_COLLECTION } from "../../src/domain/Result.ts"
import type { SourceRecord } from "../../src/domain/Source.ts"
import { Mongo, type MongoOptions } from "../../src/store/mongo/MongoClient.ts"
import { MongoConversationStore } from "../../src/store/mongo/MongoConversationStore.ts"
import { MongoJobStateStore } from "../../src/store/mongo/MongoJobStateStore.ts"
import { ContractSources } from "./storeContract.ts"

export const testDbName = (): string => `cpa_test_${randomBytes(6).toString("hex")}`

/** A `Mongo` on a database of its own, dropped when the layer is released (before the client closes). */
export const freshMongo = (uri: string, options: Partial<MongoOptions> = {}): Layer.Layer<Mongo, unknown> => {
  const mongo = Layer.fresh(Mongo.layerFrom(Redacted.make(uri), testDbName(), {
    serverSelectionTimeoutMs: 5_000,
    socketTimeoutMs: 20_000,
    ...options
  }))
  const dropOnRelease = Layer.effectDiscard(Effect.gen(function*() {
    const { use } = yield* Mongo
    yield* Effect.addFinalizer(() => use("test.dropDatabase", (db) => db.dropDatabase()).pipe(Effect.ignore))
  }))
  return Layer.provideMerge(dropOnRelease, mongo)
}

/** Inserts source documents with ObjectId `_id`s, as the upstream pipeline does. */
export const insertSources = (mongo: Mongo["Service"], records: ReadonlyArray<SourceRecord>) =>
  mongo.use("test.insertSources", (db) =>
    db.collection(SOURCE_COLLECTION).insertMany(records.map((r) => ({ ...(r.doc as object), _id: ObjectId.isValid(r.id) && r.id.length === 24 ? new ObjectId(r.id) : r.id }) as never)))

/** Both MongoDB stores, the contract's source seeder and `Mongo` itself, on a fresh database. */
export const mongoStores = (uri: string, options: Partial<MongoOptions> = {}) =>
  Layer.mergeAll(
    MongoConversationStore.layer,
    MongoJobStateStore.layer,
    Layer.effect(
      ContractSources,
      Effect.gen(function*() {
        const mongo = yield* Mongo
        return ContractSources.of({ insert: (records) => insertSources(mongo, records) })
      })
    )
  ).pipe(Layer.provideMerge(freshMongo(uri, options)))

/** FerretDB says so in `buildInfo`; it lacks some guarantees of MongoDB (see the notes). */
export const isFerretDb = async (uri: string): Promise<boolean> => {
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5_000 })
  try {
    return "ferretdbVersion" in (await client.db("admin").command({ buildInfo: 1 }))
  } finally {
    await client.close()
  }
}
