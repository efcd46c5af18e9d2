import { Effect } from "effect"
import { RunFatal, type StoreError } from "../domain/Errors.ts"
import { withRetry } from "./Retry.ts"

/** Retries for store operations before the store counts as unreachable (run-fatal). */
const STORE_RETRY = { baseDelayMs: 1000, maxRetries: 3 }

/**
 * A store operation tried once, for the last words of a run that is already failing (the
 * final job-state save, the lease release): no backoff that would delay the exit.
 */
export const storeOpOnce = <A, R>(effect: Effect.Effect<A, StoreError, R>): Effect.Effect<A, RunFatal, R> =>
  Effect.mapError(effect, (error) => new RunFatal({ message: `MongoDB ${error.operation} failed: ${error.message}` }))

/** A store operation with its own retries; once they are spent the run stops. */
export const storeOp = <A, R>(effect: Effect.Effect<A, StoreError, R>): Effect.Effect<A, RunFatal, R> =>
  withRetry(effect, STORE_RETRY, (error, attempt) =>
    Effect.logWarning(`store ${error.operation} failed (${error.reason}), retry ${attempt}: ${error.message}`)).pipe(
      Effect.mapError(({ error }) =>
        new RunFatal({
          message: error.severity === "retriable"
            ? `MongoDB unreachable: ${error.operation} failed after ${STORE_RETRY.maxRetries} retries: ${error.message}`
            : `${error.message} (in ${error.operation})`
        })
      )
    )

