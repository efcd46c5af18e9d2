import { Effect, Layer, Semaphore } from "effect"
import type { Document } from "mongodb"
import { StoreError } from "../../domain/Errors.ts"
import { JobState } from "../../domain/JobState.ts"
import { Lease, leaseAvailable, type LeaseAttempt } from "../../domain/Lease.ts"
import { JOB_STATE_COLLECTION } from "../../domain/Result.ts"
import { JobStateStore } from "../../services/JobStateStore.ts"
import { Mongo } from "./MongoClient.ts"
import { decodeStored, isDuplicateKey, upsertWithRetryOnDuplicate } from "./errors.ts"
import { ensureIndex } from "./indexes.ts"

/** The fields `save` writes and `reset` removes; the `lease` beside them is never clobbered. */
const STATE_FIELDS: ReadonlyArray<string> = Object.keys(JobState.fields).filter((f) => f !== "job_name")

const hasState = (doc: Record<string, unknown>): boolean => STATE_FIELDS.some((f) => f in doc)

/**
 * `JobStateStore` on MongoDB: one `job_state` document per `job_name` (unique index), holding
 * the state fields and the run `lease`. `reset` deletes the document unless it holds a lease;
 * then only the state fields are unset, and `load` reports no state for a document without
 * them. Every lease change is one conditional single-document update, atomic on MongoDB.
 *
 * This store's writes go one at a time. FerretDB applies an update by reading the whole
 * document and writing it back, so a state save racing this instance's own lease renewal on the
 * same document lost one of them (a run ended `running` after `stopped` was saved; the
 * MongoStores test reproduces it). Writes are a few a second at most; queueing costs nothing.
 */
export class MongoJobStateStore {
  /** Creates the unique index first: for the commands that write. */
  static readonly layer: Layer.Layer<JobStateStore, StoreError, Mongo> = Layer.effect(JobStateStore, make(true))
  /** Creates nothing: for the commands that only read. */
  static readonly layerReadOnly: Layer.Layer<JobStateStore, StoreError, Mongo> = Layer.effect(JobStateStore, make(false))
}

function make(prepare: boolean) {
  return Effect.gen(function*() {
    const mongo = yield* Mongo
    const states = mongo.db.collection(JOB_STATE_COLLECTION)
    const writes = yield* Semaphore.make(1)
    const write = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
      writes.withPermit(mongo.use(operation, f))

    if (prepare) {
      yield* ensureIndex(mongo, "JobStateStore.ensureIndexes", {
        collection: JOB_STATE_COLLECTION,
        key: { job_name: 1 },
        unique: true,
        required: true
      })
    }

    const load = (jobName: string): Effect.Effect<JobState | undefined, StoreError> =>
      mongo.use("JobStateStore.load", () => states.findOne({ job_name: jobName }, { projection: { _id: 0 } })).pipe(
        Effect.flatMap((doc) =>
          doc === null || !hasState(doc)
            ? Effect.succeed(undefined)
            : decodeStored(JobState, "JobStateStore.load", `${JOB_STATE_COLLECTION} document of job ${jobName}`)(doc)
        ),
        Effect.withSpan("JobStateStore.load")
      )

    const save = (state: JobState): Effect.Effect<void, StoreError> =>
      write("JobStateStore.save", async () => {
        // A concurrent upsert may insert the document first: the retry then updates it.
        await upsertWithRetryOnDuplicate(() =>
          states.updateOne(
            { job_name: state.job_name },
            {
              // Optional fields (batch_mode) that the state leaves out are removed, not stored as null.
              $set: Object.fromEntries(STATE_FIELDS.filter((f) => state[f as keyof JobState] !== undefined).map((f) => [f, state[f as keyof JobState]])),
              ...(STATE_FIELDS.some((f) => state[f as keyof JobState] === undefined)
                ? { $unset: Object.fromEntries(STATE_FIELDS.filter((f) => state[f as keyof JobState] === undefined).map((f) => [f, ""])) }
                : {})
            },
            { upsert: true }
          )
        )
      }).pipe(Effect.withSpan("JobStateStore.save"))

    const reset = (jobName: string): Effect.Effect<void, StoreError> =>
      write("JobStateStore.reset", async () => {
        const deleted = await states.deleteOne({ job_name: jobName, lease: { $exists: false } })
        if (deleted.deletedCount === 0) {
          await states.updateOne(
            { job_name: jobName },
            { $unset: Object.fromEntries(STATE_FIELDS.map((f) => [f, ""])) }
          )
        }
      }).pipe(Effect.withSpan("JobStateStore.reset"))

    const decodeLease = (jobName: string) => decodeStored(Lease, "JobStateStore.lease", `lease of job ${jobName}`)
    const leaseOf = (jobName: string, doc: Document | null): Effect.Effect<Lease | undefined, StoreError> =>
      doc?.lease == null ? Effect.succeed(undefined) : decodeLease(jobName)(doc.lease)

    /**
     * First extends a lease `owner` already holds (keeping `acquired_at`), else takes a free or
     * expired one; a concurrent insert of the job's document (E11000) or a lost race reads
     * the holder. No pipeline updates: FerretDB lacks them.
     */
    const acquireLease = (jobName: string, owner: string, now: Date, ttlMs: number): Effect.Effect<LeaseAttempt, StoreError> => {
      const nowIso = now.toISOString()
      const expiresAt = new Date(now.getTime() + ttlMs).toISOString()
      // no projection: FerretDB's findAndModify does not implement `fields`
      const options = { returnDocument: "after" } as const
      return write("JobStateStore.acquireLease", async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const extended = await states.findOneAndUpdate(
            { job_name: jobName, "lease.owner": owner },
            { $set: { "lease.expires_at": expiresAt } },
            options
          )
          if (extended !== null) return { acquired: true, doc: extended } as const
          try {
            const taken = await states.findOneAndUpdate(
              { job_name: jobName, $or: [{ lease: null }, { lease: { $exists: false } }, { "lease.expires_at": { $lte: nowIso } }] },
              { $set: { lease: { owner, acquired_at: nowIso, expires_at: expiresAt } } },
              { ...options, upsert: true }
            )
            if (taken !== null) return { acquired: true, doc: taken } as const
          } catch (error) {
            // the document exists (someone else's live lease): the upsert's insert collided
            if (!isDuplicateKey(error)) throw error
          }
          const current = await states.findOne({ job_name: jobName }, { projection: { _id: 0, lease: 1 } })
          const lease = current?.lease as Lease | null | undefined
          if (lease != null && !leaseAvailable(lease, owner, nowIso)) return { acquired: false, doc: current } as const
        }
        return undefined
      }).pipe(
        Effect.flatMap((outcome) => {
          if (outcome === undefined) {
            return Effect.fail(
              new StoreError({
                reason: "Unavailable",
                operation: "JobStateStore.acquireLease",
                message: `the lease of job ${jobName} changed hands during three attempts to take it`
              })
            )
          }
          return leaseOf(jobName, outcome.doc).pipe(
            Effect.flatMap((lease) =>
              lease === undefined
                ? Effect.fail(new StoreError({ reason: "Invalid", operation: "JobStateStore.acquireLease", message: `no lease stored for job ${jobName}` }))
                : Effect.succeed<LeaseAttempt>(outcome.acquired ? { _tag: "Acquired", lease } : { _tag: "Held", holder: lease })
            )
          )
        }),
        Effect.withSpan("JobStateStore.acquireLease")
      )
    }

    const renewLease = (jobName: string, owner: string, now: Date, ttlMs: number): Effect.Effect<boolean, StoreError> =>
      write("JobStateStore.renewLease", async () => {
        const r = await states.updateOne(
          { job_name: jobName, "lease.owner": owner },
          { $set: { "lease.expires_at": new Date(now.getTime() + ttlMs).toISOString() } }
        )
        return r.matchedCount > 0
      }).pipe(Effect.withSpan("JobStateStore.renewLease"))

    const releaseLease = (jobName: string, owner: string): Effect.Effect<void, StoreError> =>
      write("JobStateStore.releaseLease", async () => {
        await states.updateOne({ job_name: jobName, "lease.owner": owner }, { $unset: { lease: "" } })
      }).pipe(Effect.withSpan("JobStateStore.releaseLease"))

    const readLease = (jobName: string): Effect.Effect<Lease | undefined, StoreError> =>
      mongo.use("JobStateStore.readLease", () => states.findOne({ job_name: jobName }, { projection: { _id: 0, lease: 1 } })).pipe(
        Effect.flatMap((doc) => leaseOf(jobName, doc)),
        Effect.withSpan("JobStateStore.readLease")
      )

    // Atomic on MongoDB; FerretDB 1.x can lose one of two concurrent takeovers (see acquireLease).
    return JobStateStore.of({ load, save, reset, acquireLease, renewLease, releaseLease, leaseNeedsSettle: true, readLease })
  })
}
