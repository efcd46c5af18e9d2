import { Effect, Layer } from "effect"
import type { JobState } from "../../domain/JobState.ts"
import { type Lease, leaseAvailable, type LeaseAttempt } from "../../domain/Lease.ts"
import { JobStateStore } from "../../services/JobStateStore.ts"

export const makeMemoryJobStateStore = (
  states: Map<string, JobState> = new Map(),
  leases: Map<string, Lease> = new Map()
): JobStateStore["Service"] =>
  JobStateStore.of({
    load: (jobName) => Effect.sync(() => states.get(jobName)),
    save: (state) =>
      Effect.sync(() => {
        states.set(state.job_name, state)
      }),
    reset: (jobName) =>
      Effect.sync(() => {
        states.delete(jobName)
      }),
    acquireLease: (jobName, owner, now, ttlMs) =>
      Effect.sync((): LeaseAttempt => {
        const held = leases.get(jobName)
        if (!leaseAvailable(held, owner, now.toISOString())) return { _tag: "Held", holder: held! }
        const lease: Lease = {
          owner,
          acquired_at: held?.owner === owner ? held.acquired_at : now.toISOString(),
          expires_at: new Date(now.getTime() + ttlMs).toISOString()
        }
        leases.set(jobName, lease)
        return { _tag: "Acquired", lease }
      }),
    renewLease: (jobName, owner, now, ttlMs) =>
      Effect.sync(() => {
        const held = leases.get(jobName)
        if (held?.owner !== owner) return false
        leases.set(jobName, { ...held, expires_at: new Date(now.getTime() + ttlMs).toISOString() })
        return true
      }),
    releaseLease: (jobName, owner) =>
      Effect.sync(() => {
        if (leases.get(jobName)?.owner === owner) leases.delete(jobName)
      }),
    // One process, synchronous updates: two callers are never both told Acquired.
    leaseNeedsSettle: false,
    readLease: (jobName) => Effect.sync(() => leases.get(jobName))
  })

export class MemoryJobStateStore {
  static readonly layer = (states: Map<string, JobState> = new Map(), leases: Map<string, Lease> = new Map()) =>
    Layer.succeed(JobStateStore, makeMemoryJobStateStore(states, leases))
}
