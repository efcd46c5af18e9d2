import { Schema } from "effect"

/**
 * The run lease kept in the job's `job_state` document (field `lease`): only its owner runs
 * batches. Taken atomically, renewed while running, free once `expires_at` has passed.
 */
export const Lease = Schema.Struct({
  owner: Schema.String,
  acquired_at: Schema.String,
  /** ISO time; ISO strings of the same form order like the times themselves. */
  expires_at: Schema.String
})
export type Lease = typeof Lease.Type

export type LeaseAttempt =
  | { readonly _tag: "Acquired"; readonly lease: Lease }
  | { readonly _tag: "Held"; readonly holder: Lease }

/** Whether `owner` may take the lease now: free, expired, or already its own. */
export const leaseAvailable = (lease: Lease | undefined | null, owner: string, nowIso: string): boolean =>
  lease == null || lease.owner === owner || lease.expires_at <= nowIso
