import { Context, Deferred, Effect, Layer } from "effect"

/**
 * A request to stop gracefully (SIGTERM, SIGINT): the batch takes no new records, lets
 * the ones in flight finish, saves the checkpoint and ends with status `stopped`. Each run
 * has its own: `layer` (or `make`) starts one that no one has requested yet, which is also
 * what tests and one-off commands want.
 */
export class Shutdown extends Context.Service<Shutdown, {
  /** Whether a stop has been requested. */
  readonly isRequested: Effect.Effect<boolean>
  /** Completes when a stop is requested. */
  readonly await: Effect.Effect<void>
  /** Requests the stop; asking again changes nothing. */
  readonly request: Effect.Effect<void>
}>()("cpa/Shutdown") {
  /** A fresh signal, for the caller that requests the stop (the CLI's signal handler, a test). */
  static readonly make: Effect.Effect<Shutdown["Service"]> = Effect.map(Deferred.make<void>(), (requested) =>
    Shutdown.of({
      isRequested: Deferred.isDone(requested),
      await: Deferred.await(requested),
      request: Effect.asVoid(Deferred.succeed(requested, undefined))
    }))

  /** A fresh signal per build of the layer: not requested until someone calls `request`. */
  static readonly layer: Layer.Layer<Shutdown> = Layer.effect(Shutdown, Shutdown.make)
}
