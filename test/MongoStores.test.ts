import { createServer } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted, Stream } from "effect"
import {
  MongoBulkWriteError,
  MongoError,
  MongoMissingCredentialsError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoOperationTimeoutError,
  MongoParseError,
  MongoServerError,
  MongoServerSelectionError,
  ObjectId
} from "mongodb"
import { inject } from "vitest"
import { StoreError } from "../src/domain/Errors.ts"
import { initialJobState } from "../src/domain/JobState.ts"
import { DEAD_LETTER_COLLECTION, JOB_STATE_COLLECTION, RESULT_COLLECTION, SOURCE_COLLECTION } from "../src/domain/Result.ts"
import { decodeConversation } from "../src/domain/Source.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { JobStateStore } from "../src/services/JobStateStore.ts"
import { describeUri, Mongo } from "../src/store/mongo/MongoClient.ts"
import { MongoConversationStore } from "../src/store/mongo/MongoConversationStore.ts"
import { redactUri, scrub } from "../src/domain/Text.ts"
import { isDuplicateKey, isNotImplemented, isUnauthorized, toStoreError, uriSecrets } from "../src/store/mongo/errors.ts"
import { MongoJobStateStore } from "../src/store/mongo/MongoJobStateStore.ts"
import { freshMongo, insertSources, mongoStores } from "./contract/mongoHarness.ts"
import { resultFor } from "./contract/storeContract.ts"
import { conversationDoc, oid, records } from "./support/fixtures.ts"
import { startFerretDb } from "./support/mongo-server.ts"

/** The driver reads `reason.error` when building a selection error; nothing else of the topology matters here. */
const noTopology = { error: undefined, servers: new Map() } as never

const serverError = (fields: Record<string, unknown>) => new MongoServerError({ message: "server says no", ...fields })

describe("mongoErrors.toStoreError", () => {
  const reasonOf = (cause: unknown) => toStoreError("ConversationStore.counts", cause).reason

  it("network failures are Unavailable and retriable", () => {
    const e = toStoreError("ConversationStore.readAfter", new MongoNetworkError("connection 3 to 10.0.0.5:27017 closed"))
    assert.strictEqual(e.reason, "Unavailable")
    assert.isTrue(e.isRetryable)
    assert.strictEqual(e.operation, "ConversationStore.readAfter")
    assert.include(e.message, "connection 3 to 10.0.0.5:27017 closed")
    assert.strictEqual(reasonOf(new MongoServerSelectionError("Server selection timed out after 10000 ms", noTopology)), "Unavailable")
  })

  it("a bulk write that lost its connection is Unavailable; one with per-write errors is not", () => {
    const lost = new MongoBulkWriteError(new MongoNetworkError("connection 5 to 127.0.0.1:27017 closed"), {} as never)
    assert.strictEqual(reasonOf(lost), "Unavailable")
    const rejected = new MongoBulkWriteError({ message: "write failed", code: 121, writeErrors: [{ code: 121 }] } as never, {} as never)
    assert.strictEqual(reasonOf(rejected), "Unknown")
  })

  it("timeouts are Timeout and retriable", () => {
    for (const cause of [
      new MongoNetworkTimeoutError("connection 1 to 127.0.0.1:27017 timed out"),
      new MongoOperationTimeoutError("Timed out during operation execution"),
      serverError({ code: 50, codeName: "MaxTimeMSExpired" }),
      serverError({ code: 262, codeName: "ExceededTimeLimit" })
    ]) {
      const e = toStoreError("JobStateStore.save", cause)
      assert.strictEqual(e.reason, "Timeout", cause.message)
      assert.isTrue(e.isRetryable)
    }
  })

  it("not-primary, shutdown and retryable-labelled server errors are Unavailable", () => {
    assert.strictEqual(reasonOf(serverError({ code: 10107, codeName: "NotWritablePrimary" })), "Unavailable")
    assert.strictEqual(reasonOf(serverError({ code: 13435, codeName: "NotPrimaryNoSecondaryOk" })), "Unavailable")
    assert.strictEqual(reasonOf(serverError({ code: 189, codeName: "PrimarySteppedDown" })), "Unavailable")
    assert.strictEqual(reasonOf(serverError({ code: 91, codeName: "ShutdownInProgress" })), "Unavailable")
    assert.strictEqual(reasonOf(serverError({ code: 1234, errorLabels: ["RetryableWriteError"] })), "Unavailable")
    assert.strictEqual(reasonOf(serverError({ code: 1234, errorLabels: ["ResetPool"] })), "Unavailable")
    assert.strictEqual(reasonOf(serverError({ errmsg: "not master and slaveOk=false", message: undefined })), "Unavailable")
    const labelled = new MongoError("pool cleared")
    labelled.addErrorLabel("PoolRequestedRetry")
    assert.strictEqual(reasonOf(labelled), "Unavailable")
  })

  it("a failed authentication is Authentication, fatal, and says so, even with retry labels", () => {
    // What a real server (FerretDB, MongoDB) answers a bad login with: code 18 plus HandshakeError/ResetPool.
    const cause = serverError({
      code: 18,
      codeName: "AuthenticationFailed",
      message: "Authentication failed.",
      errorLabels: ["HandshakeError", "ResetPool"]
    })
    const e = toStoreError("Mongo.connect", cause)
    assert.strictEqual(e.reason, "Authentication")
    assert.isFalse(e.isRetryable)
    assert.strictEqual(e.severity, "fatal")
    assert.match(e.message, /authentication failed/i)
    assert.strictEqual(reasonOf(new MongoMissingCredentialsError("Username required for mechanism 'SCRAM-SHA-256'")), "Authentication")
  })

  it("an unauthorized operation is Authorization and fatal", () => {
    const e = toStoreError("ConversationStore.upsertResult", serverError({
      code: 13,
      codeName: "Unauthorized",
      message: "not authorized on csai to execute command { update: \"agentic_analysis\" }"
    }))
    assert.strictEqual(e.reason, "Authorization")
    assert.strictEqual(e.severity, "fatal")
    assert.include(e.message, "code 13 Unauthorized")
  })

  it("anything else is Unknown (fatal); a bad connection string is Invalid; a StoreError passes through", () => {
    assert.strictEqual(reasonOf(serverError({ code: 11000, codeName: "DuplicateKey" })), "Unknown")
    assert.strictEqual(reasonOf(serverError({ code: 2, codeName: "BadValue" })), "Unknown")
    assert.strictEqual(reasonOf(new TypeError("boom")), "Unknown")
    assert.strictEqual(reasonOf("a string"), "Unknown")
    assert.strictEqual(reasonOf(new MongoParseError("Invalid scheme")), "Invalid")
    const original = new StoreError({ reason: "Invalid", operation: "X", message: "m" })
    assert.strictEqual(toStoreError("Y", original), original)
  })

  it("messages never carry a password: URL userinfo and the given secrets are scrubbed", () => {
    const e = toStoreError(
      "Mongo.connect",
      new MongoServerSelectionError("getaddrinfo ENOTFOUND for mongodb://app:s3cr3t%40x@db.example.com:27017/csai", noTopology)
    )
    assert.notInclude(e.message, "s3cr3t")
    assert.include(e.message, "mongodb://app:***@db.example.com:27017/csai")
    const withSecret = toStoreError("Mongo.connect", new MongoNetworkError("handshake echoed hunter2 and hunter2x"), ["hunter2", "hunter2x"])
    assert.notInclude(withSecret.message, "hunter2")
    assert.include(withSecret.message, "handshake echoed *** and ***")
  })

  it("classifies duplicate keys, NotImplemented and Unauthorized", () => {
    assert.isTrue(isDuplicateKey(serverError({ code: 11000 })))
    assert.isFalse(isDuplicateKey(serverError({ code: 11600 })))
    assert.isFalse(isDuplicateKey(new Error("E11000")))
    assert.isTrue(isNotImplemented(serverError({ code: 238, codeName: "NotImplemented" })))
    assert.isFalse(isNotImplemented(serverError({ code: 2 })))
    assert.isTrue(isUnauthorized(serverError({ code: 13, codeName: "Unauthorized" })))
    assert.isFalse(isUnauthorized(serverError({ code: 18 })))
  })
})

describe("redactUri / uriSecrets / describeUri", () => {
  it("replaces only the password", () => {
    assert.strictEqual(redactUri("mongodb://app:pw@h1:27017,h2/db?tls=true"), "mongodb://app:***@h1:27017,h2/db?tls=true")
    assert.strictEqual(redactUri("mongodb+srv://app:p%40ss@cluster0.x.net/"), "mongodb+srv://app:***@cluster0.x.net/")
    // an unescaped "@" in the password: everything up to the last "@" of the authority goes
    assert.strictEqual(redactUri("mongodb://app:p@ss@h/"), "mongodb://app:***@h/")
    assert.strictEqual(redactUri("mongodb://app@h/?authMechanism=MONGODB-X509"), "mongodb://app@h/?authMechanism=MONGODB-X509")
    assert.strictEqual(redactUri("mongodb://h:27017/"), "mongodb://h:27017/")
    assert.strictEqual(redactUri("a mongodb://u:x@a/ and mongodb://v:y@b/"), "a mongodb://u:***@a/ and mongodb://v:***@b/")
    assert.strictEqual(redactUri("no url here: user:pw"), "no url here: user:pw")
  })

  it("finds the password raw and percent-decoded", () => {
    assert.deepStrictEqual(uriSecrets("mongodb://app:p%40ss@h/"), ["p%40ss", "p@ss"])
    assert.deepStrictEqual(uriSecrets("mongodb://app:plain@h/"), ["plain"])
    assert.deepStrictEqual(uriSecrets("mongodb://app:bad%zz@h/"), ["bad%zz"])
    assert.deepStrictEqual(uriSecrets("mongodb://app@h/"), [])
    assert.deepStrictEqual(uriSecrets("mongodb://h/"), [])
    assert.strictEqual(scrub("p@ss and p%40ss", uriSecrets("mongodb://app:p%40ss@h/")), "*** and ***")
  })

  it("describes a connection string by its hosts only", () => {
    assert.strictEqual(describeUri("mongodb://app:pw@h1:27017,h2/csai?authSource=admin&tlsCertificateKeyFilePassword=x"), "mongodb://h1:27017,h2/")
    assert.strictEqual(describeUri("mongodb+srv://cluster0.x.net"), "mongodb+srv://cluster0.x.net/")
    assert.strictEqual(describeUri("garbage"), "(unparseable connection string)")
  })
})

const closedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const connectError = (uri: string, serverSelectionTimeoutMs = 300) =>
  Effect.flip(Effect.scoped(Layer.build(Mongo.layerFrom(Redacted.make(uri), "csai", { serverSelectionTimeoutMs, socketTimeoutMs: 1_000 }))))

describe("Mongo.layerFrom connection failures", () => {
  it.live("an unreachable server fails the layer with a retriable StoreError that hides the password", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const e = yield* connectError(`mongodb://app:TopSecret99@127.0.0.1:${port}/?authSource=admin`)
      assert.instanceOf(e, StoreError)
      assert.strictEqual(e.reason, "Unavailable")
      assert.isTrue(e.isRetryable)
      assert.strictEqual(e.operation, "Mongo.connect")
      assert.include(e.message, `cannot connect to mongodb://127.0.0.1:${port}/ (database csai)`)
      assert.notInclude(e.message, "TopSecret99")
      assert.notInclude(String(Exit.fail(e)), "TopSecret99")
    }))

  it.live("a malformed connection string fails with Invalid and hides the password", () =>
    Effect.gen(function*() {
      for (const uri of ["postgres://app:TopSecret99@db/", "mongodb://app:TopSecret99@", "mongodb://app:Top%zzSecret99@h/"]) {
        const e = yield* connectError(uri)
        assert.strictEqual(e.reason, "Invalid", `${e.message}`)
        assert.notInclude(e.message, "TopSecret99")
        assert.notInclude(e.message, "Top%zzSecret99")
      }
    }))
})

const mongoUri = inject("mongoUri")
const mongoKind = inject("mongoKind")

if (mongoUri === "") {
  process.stderr.write("\n!!! MongoStores.test.ts: NO MONGODB SERVER: the MongoDB integration tests are SKIPPED\n\n")
  describe("MongoDB stores", () => {
    it.skip("SKIPPED: no MongoDB-compatible server (see the warning of test/support/mongo-global-setup.ts)", () => {})
  })
} else {
  describe("MongoDB stores", () => {
    const withStores = <A, E>(body: Effect.Effect<A, E, ConversationStore | JobStateStore | Mongo>) =>
      Effect.provide(body, mongoStores(mongoUri))

    it.live("a login the server rejects is Authentication, and the message hides the password", () =>
      Effect.gen(function*() {
        const uri = mongoUri.replace(/^mongodb:\/\/(?:[^@/]*@)?/, "mongodb://cpa_nobody:TopSecret99@")
        const e = yield* connectError(uri, 5_000)
        assert.strictEqual(e.reason, "Authentication")
        assert.match(e.message, /authentication failed/i)
        assert.notInclude(e.message, "TopSecret99")
      }))

    it.live("start-up creates the unique indexes, and starting again on the same database is idempotent", () =>
      Effect.gen(function*() {
        const mongo = yield* Mongo
        yield* Effect.scoped(Layer.build(Layer.mergeAll(MongoConversationStore.layer, MongoJobStateStore.layer)))
        const uniqueKeys = (collection: string) =>
          mongo.use("test.listIndexes", (db) => db.collection(collection).listIndexes().toArray()).pipe(
            Effect.map((ixs) => ixs.filter((ix) => ix.unique === true).map((ix) => JSON.stringify(ix.key)))
          )
        assert.deepStrictEqual(yield* uniqueKeys(RESULT_COLLECTION), [`{"source_object_id":1}`])
        assert.deepStrictEqual(yield* uniqueKeys(DEAD_LETTER_COLLECTION), [`{"source_object_id":1}`])
        assert.deepStrictEqual(yield* uniqueKeys(JOB_STATE_COLLECTION), [`{"job_name":1}`])
        const before = yield* mongo.use("test.listIndexes", (db) => db.collection(RESULT_COLLECTION).listIndexes().toArray())
        assert.isAtLeast(before.length, 3)
      }).pipe(Effect.provide(mongoStores(mongoUri))))

    it.live("a unique index the collection cannot take fails the layer, naming the index", () =>
      Effect.gen(function*() {
        const mongo = yield* Mongo
        yield* mongo.use("test.seed", (db) =>
          db.collection(RESULT_COLLECTION).insertMany([{ source_object_id: oid(1) }, { source_object_id: oid(1) }]))
        const e = yield* Effect.flip(Effect.scoped(Layer.build(MongoConversationStore.layer)))
        assert.strictEqual(e.operation, "ConversationStore.ensureIndexes")
        assert.include(e.message, "cannot create the index agentic_analysis(source_object_id) unique")
      }).pipe(Effect.provide(freshMongo(mongoUri))))

    it.live("readAfter reads only ObjectId _ids; others are neither read nor in the backlog", () =>
      withStores(Effect.gen(function*() {
        const mongo = yield* Mongo
        const store = yield* ConversationStore
        yield* insertSources(mongo, records(3))
        yield* mongo.use("test.seed", (db) =>
          db.collection<{ _id: unknown }>(SOURCE_COLLECTION).insertMany([
            { _id: "legacy-string-id", ...conversationDoc(90) },
            { _id: 42, ...conversationDoc(91) },
            { _id: new Date("2024-01-01T00:00:00Z"), ...conversationDoc(92) }
          ]))
        const all = yield* Stream.runCollect(store.readAfter(null, 100))
        assert.deepStrictEqual(all.map((r) => r.id), [oid(0), oid(1), oid(2)])
        assert.deepStrictEqual(yield* store.counts(null), { sources: 6, results: 0, openDeadLetters: 0, backlog: 3, unreadable: 3 })
        assert.deepStrictEqual((yield* Stream.runCollect(store.readAfter(oid(0), 100))).map((r) => r.id), [oid(1), oid(2)])
      })))

    it.live("a malformed checkpoint is a StoreError Invalid, not a driver exception", () =>
      withStores(Effect.gen(function*() {
        const store = yield* ConversationStore
        const e = yield* Effect.flip(Stream.runCollect(store.readAfter("66000000000000000000000G", 10)))
        assert.strictEqual(e.reason, "Invalid")
        assert.strictEqual((yield* Effect.flip(store.counts("nope"))).reason, "Invalid")
      })))

    it.live("BSON dates in source documents reach the decoder as Dates", () =>
      withStores(Effect.gen(function*() {
        const mongo = yield* Mongo
        const store = yield* ConversationStore
        const at = new Date("2024-03-04T05:06:07.000Z")
        const doc = conversationDoc(1)
        doc.conversation.tweets = doc.conversation.tweets.map((t) => ({ ...t, created_at: at as unknown as string }))
        yield* insertSources(mongo, [{ id: oid(1), doc }])
        const [record] = yield* Stream.runCollect(store.readAfter(null, 1))
        assert.instanceOf((record?.doc as { _id: unknown })._id, ObjectId)
        const conversation = yield* decodeConversation(record!)
        assert.strictEqual(conversation.messages[0]?.createdAt.toISOString(), at.toISOString())
      })))

    it.live("a stream stopped early closes its server cursor; one read to the end needs no killCursors", () =>
      Effect.gen(function*() {
        const mongo = yield* Mongo
        const store = yield* ConversationStore
        const started: Array<string> = []
        mongo.client.on("commandStarted", (event) => started.push(event.commandName))
        yield* insertSources(mongo, records(300))

        started.length = 0
        const full = yield* Stream.runCollect(store.readAfter(null, 250))
        assert.strictEqual(full.length, 250)
        assert.deepStrictEqual(full.map((r) => r.id), records(250).map((r) => r.id))
        assert.include(started, "getMore")
        assert.notInclude(started, "killCursors")

        started.length = 0
        const three = yield* Stream.runCollect(store.readAfter(null, 250).pipe(Stream.take(3)))
        assert.strictEqual(three.length, 3)
        assert.include(started, "killCursors")
      }).pipe(Effect.provide(mongoStores(mongoUri, { monitorCommands: true }))))

    it.live("job state: a stored document of the wrong shape is StoreError Invalid naming the field", () =>
      withStores(Effect.gen(function*() {
        const mongo = yield* Mongo
        const states = yield* JobStateStore
        const good = initialJobState("job-x", new Date("2024-05-01T00:00:00Z"))
        yield* mongo.use("test.seed", (db) =>
          db.collection(JOB_STATE_COLLECTION).insertOne({ ...good, data: { ...good.data, iteration: "five" } }))
        const e = yield* Effect.flip(states.load("job-x"))
        assert.strictEqual(e.reason, "Invalid")
        assert.strictEqual(e.operation, "JobStateStore.load")
        assert.include(e.message, "iteration")
        assert.include(e.message, "job-x")
      })))

    it.live("job state: save and reset leave a lease alone; reset without a lease deletes the document", () =>
      withStores(Effect.gen(function*() {
        const mongo = yield* Mongo
        const states = yield* JobStateStore
        const lease = { owner: "worker-1", acquired_at: "2024-05-01T00:00:00.000Z", expires_at: "2024-05-01T00:10:00.000Z" }
        const docs = () =>
          mongo.use("test.find", (db): Promise<Array<unknown>> => db.collection(JOB_STATE_COLLECTION).find({}, { projection: { _id: 0 } }).toArray())
        yield* mongo.use("test.seed", (db) => db.collection(JOB_STATE_COLLECTION).insertOne({ job_name: "leased", lease }))
        assert.isUndefined(yield* states.load("leased"))

        const state = initialJobState("leased", new Date("2024-05-01T00:00:00Z"))
        yield* states.save(state)
        assert.deepStrictEqual(yield* states.load("leased"), state)
        assert.deepStrictEqual(((yield* docs())[0] as { lease?: unknown } | undefined)?.lease, lease)

        yield* states.reset("leased")
        assert.isUndefined(yield* states.load("leased"))
        assert.deepStrictEqual(yield* docs(), [{ job_name: "leased", lease }])

        assert.deepStrictEqual(yield* states.readLease("leased"), lease)

        yield* states.save(initialJobState("plain", new Date("2024-05-01T00:00:00Z")))
        yield* states.reset("plain")
        assert.deepStrictEqual(yield* docs(), [{ job_name: "leased", lease }])

        // a released lease leaves a document with neither state nor lease: load and readLease see nothing
        yield* states.releaseLease("leased", "worker-1")
        assert.isUndefined(yield* states.readLease("leased"))
        assert.isUndefined(yield* states.load("leased"))
      })))

    it.live("job state: a state save racing a lease renewal keeps both (FerretDB rewrites a whole document per update)", () =>
      withStores(Effect.gen(function*() {
        const states = yield* JobStateStore
        const t0 = new Date("2024-05-01T00:00:00Z")
        const acquired = yield* states.acquireLease("racy", "worker-1", t0, 60_000)
        assert.strictEqual(acquired._tag, "Acquired")
        const base = initialJobState("racy", t0)
        for (let i = 1; i <= 40; i++) {
          const renewedAt = new Date(t0.getTime() + i * 1000)
          const state = { ...base, status: i % 2 === 0 ? "running" as const : "stopped" as const, data: { ...base.data, iteration: i } }
          yield* Effect.all([states.save(state), states.renewLease("racy", "worker-1", renewedAt, 60_000)], { concurrency: 2 })
          assert.strictEqual((yield* states.load("racy"))?.data.iteration, i, `the save of round ${i} was lost`)
          assert.strictEqual((yield* states.readLease("racy"))?.expires_at, new Date(renewedAt.getTime() + 60_000).toISOString(), `the renewal of round ${i} was lost`)
        }
      })))

    it.live("a result upsert keeps fields it does not own and replaces the ones it does", () =>
      withStores(Effect.gen(function*() {
        const mongo = yield* Mongo
        const store = yield* ConversationStore
        yield* mongo.use("test.seed", (db) =>
          db.collection(RESULT_COLLECTION).insertOne({ source_object_id: oid(1), reviewed_by: "qa-team", model_used: "old" }))
        const result = yield* resultFor(1, "2024-05-01T10:00:00Z", "model-b")
        yield* store.upsertResult(result)
        const docs = yield* mongo.use("test.find", (db): Promise<Array<unknown>> =>
          db.collection(RESULT_COLLECTION).find({}, { projection: { _id: 0 } }).toArray())
        assert.strictEqual(docs.length, 1)
        assert.deepStrictEqual(docs[0], { ...result, reviewed_by: "qa-team", model_used: "old" })
        assert.deepStrictEqual(yield* store.recentResults(5), [result])
      })))
  })

  if (mongoKind === "ferretdb") {
    describe("MongoDB stores across a server crash (FerretDB)", () => {
      it.live("a dead server is a retriable StoreError; after a restart the same client works again", () =>
        Effect.gen(function*() {
          const server = yield* Effect.acquireRelease(Effect.promise(() => startFerretDb()), (s) => Effect.promise(() => s.stop()))
          const t0 = Date.now()
          yield* Effect.gen(function*() {
            const store = yield* ConversationStore
            yield* store.ping
            server.kill()
            const e = yield* Effect.flip(store.ping)
            assert.instanceOf(e, StoreError)
            assert.isTrue(e.isRetryable, `${e.reason}: ${e.message}`)
            assert.strictEqual(e.operation, "ConversationStore.ping")
            yield* Effect.promise(() => server.restart())
            yield* store.ping
          }).pipe(Effect.provide(
            MongoConversationStore.layer.pipe(
              Layer.provide(Mongo.layerFrom(Redacted.make(server.uri), "cpa_crash", { serverSelectionTimeoutMs: 1_500, socketTimeoutMs: 5_000 }))
            )
          ))
          assert.isBelow(Date.now() - t0, 20_000)
        }))
    })
  }
}
