import { Context, type Effect } from "effect"
import type { StoreError } from "../domain/Errors.ts"
import type { JobState } from "../domain/JobState.ts"
import type { Lease, LeaseAttempt } from "../domain/Lease.ts"

/** The `job_state` document of one job: checkpoint, status, iteration and statistics. */
export class JobStateStore extends Context.Service<JobStateStore, {
  readonly load: (jobName: string) => Effect.Effect<JobState | undefined, StoreError>
  /** Writes the whole state of `state.job_name` (one document per job). */
  readonly save: (state: JobState) => Effect.Effect<void, StoreError>
  /** Removes the job's state: the next run starts from the first source document. The lease stays. */
  readonly reset: (jobName: string) => Effect.Effect<void, StoreError>
  /**
   * Takes the job's lease for `owner` until `now + ttlMs` when it is free, expired or already
   * `owner`'s, atomically on MongoDB (two callers never both succeed); otherwise reports the
   * holder. FerretDB 1.x can lose concurrent updates of one document, so two callers may both
   * take over the same expired lease there: see `leaseNeedsSettle`.
   */
  readonly acquireLease: (jobName: string, owner: string, now: Date, ttlMs: number) => Effect.Effect<LeaseAttempt, StoreError>
  /** Extends `owner`'s lease; false when it is no longer `owner`'s (taken over after expiry). */
  readonly renewLease: (jobName: string, owner: string, now: Date, ttlMs: number) => Effect.Effect<boolean, StoreError>
  /** Gives the lease up when `owner` holds it. */
  readonly releaseLease: (jobName: string, owner: string) => Effect.Effect<void, StoreError>
  /**
   * Whether an `Acquired` lease must be read back after a moment before it is trusted: true
   * where two instances can both be told `Acquired` (a MongoDB-wire server that loses one of
   * two concurrent updates, as FerretDB 1.x does), false where taking the lease is atomic (the
   * in-memory store: a run on it starts at once).
   */
  readonly leaseNeedsSettle: boolean
  /** The current lease, if any (expired ones included). */
  readonly readLease: (jobName: string) => Effect.Effect<Lease | undefined, StoreError>
}>()("cpa/JobStateStore") {}
