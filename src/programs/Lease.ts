import { Clock, Duration, Effect } from "effect"
import { LeaseHeld, RunFatal } from "../domain/Errors.ts"
import type { Lease } from "../domain/Lease.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import { Settings } from "../services/Settings.ts"
import { Shutdown } from "../services/Shutdown.ts"
import { storeOp, storeOpOnce } from "./StoreOp.ts"

/** `host:pid:random` (the default instance id) read back as host and pid, for people. */
export const describeHolder = (lease: Lease): string => {
  const m = /^(.+):(\d+):[a-z0-9]+$/.exec(lease.owner)
  const who = m !== null ? `${lease.owner} (host ${m[1]}, pid ${m[2]})` : lease.owner
  return `${who}, holding it since ${lease.acquired_at}`
}

/**
 * Runs `program` while holding the job's lease, so that only one instance works on a job at
 * a time. Without `wait`, a lease held by another instance fails with `LeaseHeld` (exit 3);
 * with it, the call waits as a standby (saying once who holds the lease) and takes over once
 * the holder stops renewing it. The lease is renewed every third of its time-to-live; losing
 * it stops the program.
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
        if (!jobs.leaseNeedsSettle) break
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
        return yield* new LeaseHeld({
          holder: describeHolder(holder),
          message: `job ${jobName} is running in another instance: ${describeHolder(holder)}; ` +
            "it keeps the lease while it runs: try again once it has stopped, or pass --wait to wait for it"
        })
      }
      // The holder renews the lease every third of its lifetime: say who it is once, not on
      // every renewal.
      if (reported !== holder.owner) {
        reported = holder.owner
        yield* Effect.logInfo(
          `lease of job ${jobName} held by ${describeHolder(holder)}; waiting as a standby (its lease runs until ${holder.expires_at} unless renewed)`
        )
      }
      yield* Effect.logDebug(`lease of job ${jobName} held by ${holder.owner} until ${holder.expires_at}; waiting`)
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
