import { Duration, Effect, Schedule } from "effect"
import type { Severity } from "../domain/Errors.ts"

/** What the retry policy needs to know of an error. */
export interface Classified {
  readonly severity: Severity
  /** Minimum wait before the next attempt (a provider's `retry-after`). */
  readonly retryAfterMs?: number | undefined
}

export interface RetryOptions {
  /** First delay; each further one doubles (5 s, 10 s, 20 s with the default). */
  readonly baseDelayMs: number
  readonly maxRetries: number
}

/**
 * Exponential backoff for retriable errors, at most `maxRetries` retries; a `retry-after`
 * longer than the backoff delay replaces it. Non-retriable and fatal errors are not retried.
 */
export const retrySchedule = <E extends Classified>(options: RetryOptions) =>
  Schedule.exponential(Duration.millis(options.baseDelayMs)).pipe(
    Schedule.setInputType<E>(),
    Schedule.modifyDelay(({ duration, input }) =>
      Effect.succeed(
        input.retryAfterMs !== undefined && input.retryAfterMs > Duration.toMillis(duration)
          ? Duration.millis(input.retryAfterMs)
          : duration
      )
    ),
    Schedule.while(({ input, attempt }) => input.severity === "retriable" && attempt <= options.maxRetries)
  )

/**
 * Runs `effect` with the retry policy and counts the attempts made, so that a dead letter
 * can say how many there were. The first attempt runs bare: the schedule is only built once
 * it has failed with a retriable error (this runs twice per record).
 */
export const withRetry = <A, E extends Classified, R>(
  effect: Effect.Effect<A, E, R>,
  options: RetryOptions,
  onRetry?: (error: E, attempt: number) => Effect.Effect<void>
): Effect.Effect<A, { readonly error: E; readonly attempts: number }, R> =>
  Effect.catch(effect, (first) => {
    if (first.severity !== "retriable" || options.maxRetries < 1) return Effect.fail({ error: first, attempts: 1 })
    // The first failure goes through the schedule like any other, so the delays are the same.
    let attempts = 0
    return Effect.suspend(() => {
      attempts++
      return attempts === 1 ? Effect.fail(first) : effect
    }).pipe(
      Effect.tapError((error) =>
        onRetry !== undefined && error.severity === "retriable" && attempts <= options.maxRetries
          ? onRetry(error, attempts)
          : Effect.void
      ),
      Effect.retry(retrySchedule<E>(options)),
      Effect.mapError((error) => ({ error, attempts }))
    )
  })
