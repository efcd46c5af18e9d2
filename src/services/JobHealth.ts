import { Context, Effect, Layer, Ref } from "effect"

/**
 * How the run's last batch ended, which `/ready` reports besides the store's ping. Each run
 * has its own (`layer` starts healthy); the batch writes it, the health server reads it.
 */
export class JobHealth extends Context.Service<JobHealth, {
  /** Why the last batch ended run-fatally; undefined while none has, or once one succeeded since. */
  readonly fatal: Effect.Effect<string | undefined>
  readonly batchFailed: (reason: string) => Effect.Effect<void>
  readonly batchSucceeded: Effect.Effect<void>
}>()("cpa/JobHealth") {
  static readonly make: Effect.Effect<JobHealth["Service"]> = Effect.map(Ref.make<string | undefined>(undefined), (fatal) =>
    JobHealth.of({
      fatal: Ref.get(fatal),
      batchFailed: (reason) => Ref.set(fatal, reason),
      batchSucceeded: Ref.set(fatal, undefined)
    }))

  static readonly layer: Layer.Layer<JobHealth> = Layer.effect(JobHealth, JobHealth.make)
}
