import { Effect, Layer } from "effect"
import { ConfigError } from "../../domain/Errors.ts"
import { SOURCE_COLLECTION } from "../../domain/Result.ts"
import { Mongo } from "./MongoClient.ts"
import { MongoConversationStore } from "./MongoConversationStore.ts"
import { MongoJobStateStore } from "./MongoJobStateStore.ts"

/**
 * A run over a database without `sentiment_analysis` (a typo in `--db-name`) would otherwise
 * report "Records Processed: 0" for ever: say so before anything is written.
 */
const sourcesExist = Layer.effectDiscard(Effect.gen(function*() {
  const mongo = yield* Mongo
  const found = yield* mongo.use("Mongo.listCollections", (db) => db.listCollections({ name: SOURCE_COLLECTION }, { nameOnly: true }).toArray())
  if (found.length > 0) return
  const others = yield* mongo.use("Mongo.listDatabases", (db) => db.admin().listDatabases({ nameOnly: true })).pipe(
    Effect.map((r) => r.databases.map((d) => d.name).filter((n) => !["admin", "config", "local"].includes(n))),
    Effect.orElseSucceed(() => [] as Array<string>)
  )
  return yield* new ConfigError({
    setting: "--db-name",
    message: `database ${mongo.db.databaseName} has no ${SOURCE_COLLECTION} collection: check --db-name` +
      (others.length > 0 ? ` (databases on this server: ${others.join(", ")})` : "")
  })
}))

/**
 * Both MongoDB stores on one client: what `main.ts` loads when the URI is not `memory`.
 * `readOnly` creates no index (and so no collection); `requireSources` stops a run whose
 * database has no source collection.
 */
export const mongoStoresLayer = (options: { readonly readOnly: boolean; readonly requireSources: boolean }) => {
  const stores = options.readOnly
    ? Layer.mergeAll(MongoConversationStore.layerReadOnly, MongoJobStateStore.layerReadOnly)
    : Layer.mergeAll(MongoConversationStore.layer, MongoJobStateStore.layer)
  return (options.requireSources ? stores.pipe(Layer.provide(sourcesExist)) : stores).pipe(Layer.provide(Mongo.layer))
}
