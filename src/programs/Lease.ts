import { Clock, Duration, Effect } from "effect"
import { RunFatal } from "../domain/Errors.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import { Settings } from "../services/Settings.ts"
import { Shutdown } from "../services/Shutdown.ts"
import { storeOp, storeOpOnce } from "./StoreOp.ts"

/**
 * Runs `program` while holding the job's lease, so that only one instance works on a job at
 * a time. Without `wait`, a lease held by another instance is an error; with it, the call
 * waits (logging who holds it until when) and takes over once it expires. The lease is
 * renewed every third of its time-to-live; losing it stops the program.
 */
export const withLease = <A, E, R>(program: Effect.Effect<A, E, R>, options: { readonly wait: boolean }) =>
  Effect.gen(function*() {
    const settings = yield* Settings
    const jobs = yield* JobStateStore
    const shutdown = yield* Shutdown
    const { instanceId: owner, jobName, leaseTtlMs: ttl } = settings
    const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => new Date(ms)))

    let reported = ""
    while (true) {
      let attempt = yield* storeOp(jobs.acquireLease(jobName, owner, yield* now, ttl))
      if (attempt._tag === "Acquired") {
        // Servers that lose concurrent updates of one document (FerretDB 1.x) can let two
        // instances take over the same expired lease: the last writer holds it. Look again
        // once the race has settled.
        yield* Effect.sleep(Duration.millis(Math.min(1000, ttl / 10)))
        const holder = yield* storeOp(jobs.readLease(jobName))
        if (holder?.owner === owner) break
        attempt = { _tag: "Held", holder: holder ?? attempt.lease }
      }
      const { holder } = attempt
      if (!options.wait) {
        return yield* new RunFatal({
          message: `another instance (${holder.owner}) holds the lease of job ${jobName} until ${holder.expires_at}; try again after that`
        })
      }
      if (reported !== `${holder.owner}${holder.expires_at}`) {
        reported = `${holder.owner}${holder.expires_at}`
        yield* Effect.logInfo(`lease of job ${jobName} held by ${holder.owner} until ${holder.expires_at}; waiting`)
      }
      const wait = Math.min(Math.max(Date.parse(holder.expires_at) - (yield* Clock.currentTimeMillis), 0) + 250, ttl)
      yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), shutdown.await)
      if (yield* shutdown.isRequested) return yield* Effect.interrupt
    }
    yield* Effect.logInfo(`lease of job ${jobName} taken by ${owner} (renewed every ${ttl / 3000} s)`)

    const renew = Effect.gen(function*() {
      while (true) {
        yield* Effect.sleep(Duration.millis(ttl / 3))
        const kept = yield* storeOp(jobs.renewLease(jobName, owner, yield* now, ttl))
        if (!kept) {
          return yield* new RunFatal({ message: `lost the lease of job ${jobName} (another instance took over after it expired)` })
        }
      }
    })

    return yield* program.pipe(
      Effect.raceFirst(renew),
      Effect.ensuring(storeOpOnce(jobs.releaseLease(jobName, owner)).pipe(Effect.ignore))
    )
  })
