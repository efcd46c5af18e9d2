import { Context, Effect, Layer, Redacted } from "effect"
import { type Db, MongoClient } from "mongodb"
import { StoreError } from "../../domain/Errors.ts"
import { toStoreError, uriSecrets } from "./errors.ts"
import { Settings } from "../../services/Settings.ts"

export interface MongoOptions {
  readonly serverSelectionTimeoutMs: number
  /** 0: no socket timeout. */
  readonly socketTimeoutMs: number
  /** Emit command monitoring events on `client` (tests watch for `killCursors`). */
  readonly monitorCommands?: boolean | undefined
}

/** `scheme://host:port,.../`: what a message may show of a connection string (no userinfo, no options). */
export const describeUri = (uri: string): string => {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^/\s?#]*@)?([^/\s?#]*)/i.exec(uri)
  return match === null ? "(unparseable connection string)" : `${match[1]}${match[2]}/`
}

/**
 * One connected `MongoClient` and the job's database, for the lifetime of the layer. `use` is
 * the single place a driver promise becomes an `Effect`: rejections turn into `StoreError`s
 * (see `mongoErrors.ts`) with the connection string's password scrubbed from the message.
 */
export class Mongo extends Context.Service<Mongo, {
  readonly client: MongoClient
  readonly db: Db
  readonly use: <A>(operation: string, f: (db: Db) => Promise<A>) => Effect.Effect<A, StoreError>
}>()("cpa/Mongo") {
  /** Connects to `uri` (closed when the layer is released). Fails with a `StoreError` that never shows the password. */
  static readonly layerFrom = (uri: Redacted.Redacted<string>, dbName: string, options: MongoOptions): Layer.Layer<Mongo, StoreError> =>
    Layer.effect(Mongo, make(uri, dbName, options))

  /** Connects with `Settings.mongoUri`, `dbName` and `mongo` timeouts. */
  static readonly layer: Layer.Layer<Mongo, StoreError, Settings> = Layer.effect(
    Mongo,
    Effect.gen(function*() {
      const settings = yield* Settings
      return yield* make(settings.mongoUri, settings.dbName, settings.mongo)
    })
  )
}

const make = Effect.fnUntraced(function*(uri: Redacted.Redacted<string>, dbName: string, options: MongoOptions) {
  const raw = Redacted.value(uri)
  const secrets = uriSecrets(raw)
  const translate = (operation: string, cause: unknown): StoreError => toStoreError(operation, cause, secrets)

  const client = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new MongoClient(raw, {
          appName: "cpa",
          serverSelectionTimeoutMS: options.serverSelectionTimeoutMs,
          socketTimeoutMS: options.socketTimeoutMs,
          monitorCommands: options.monitorCommands ?? false
        })
        try {
          // connect() selects a server and checks out one authenticated connection,
          // so bad credentials fail here rather than on the first query.
          await client.connect()
          return client
        } catch (error) {
          await client.close().catch(() => undefined)
          throw error
        }
      },
      catch: (cause) => {
        const error = translate("Mongo.connect", cause)
        return new StoreError({
          reason: error.reason,
          operation: error.operation,
          message: `cannot connect to ${describeUri(raw)} (database ${dbName}): ${error.message}`
        })
      }
    }),
    (client) => Effect.tryPromise(() => client.close()).pipe(Effect.ignore)
  ).pipe(Effect.withSpan("Mongo.connect"))

  const db = client.db(dbName)
  return Mongo.of({
    client,
    db,
    use: (operation, f) => Effect.tryPromise({ try: () => f(db), catch: (cause) => translate(operation, cause) })
  })
})
