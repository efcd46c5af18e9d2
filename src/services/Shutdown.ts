import { Context, Deferred, Effect, Exit } from "effect"

/**
 * A request to stop gracefully (SIGTERM, SIGINT): the batch takes no new records, lets
 * the ones in flight finish, saves the checkpoint and ends with status `stopped`.
 */
export interface ShutdownSignal {
  readonly isRequested: () => boolean
  /** Completes when a stop is requested. */
  readonly await: Effect.Effect<void>
}

export interface ShutdownController {
  readonly signal: ShutdownSignal
  readonly request: () => void
}

export const makeShutdown = (): ShutdownController => {
  const deferred = Deferred.makeUnsafe<void>()
  let requested = false
  return {
    signal: { isRequested: () => requested, await: Deferred.await(deferred) },
    request: () => {
      requested = true
      Deferred.doneUnsafe(deferred, Exit.void)
    }
  }
}

/** By default no stop is ever requested (tests and one-off commands). */
export const Shutdown = Context.Reference<ShutdownSignal>("cpa/Shutdown", {
  defaultValue: () => ({ isRequested: () => false, await: Effect.never })
})
