import { Clock, Context, Duration, Effect, Layer, Metric, Option, Queue } from "effect"
import type { StoreError } from "../domain/Errors.ts"
import * as Metrics from "./Metrics.ts"

/** Counts of the backlog start at most this often; a gauge scraped every 15–60 s needs no more. */
export const BACKLOG_COUNT_INTERVAL = Duration.minutes(1)

type Request =
  | { readonly _tag: "Known"; readonly backlog: number }
  | { readonly _tag: "Count"; readonly count: Effect.Effect<number, StoreError> }

/**
 * The `cpa_backlog_records` gauge, kept up to date in the background of the run. A count of
 * the backlog can take as long as a batch (a server without a usable index scans the source
 * collection for it), so no batch waits for one: requests return at once, the latest one wins,
 * and counts start at most once per `BACKLOG_COUNT_INTERVAL` (a request in between waits for
 * it). A value known without counting is set at once. Each run has its own (`layer`); its
 * background fiber ends with the run.
 */
export class BacklogGauge extends Context.Service<BacklogGauge, {
  /** Sets the gauge from `count`, run in the background; a failed count is logged and skipped. */
  readonly refresh: (count: Effect.Effect<number, StoreError>) => Effect.Effect<void>
  /** Sets the gauge to a value known without counting (no backlog after a batch that was not full). */
  readonly set: (backlog: number) => Effect.Effect<void>
}>()("cpa/BacklogGauge") {
  static readonly layer: Layer.Layer<BacklogGauge> = Layer.effect(
    BacklogGauge,
    Effect.gen(function*() {
      const requests = yield* Queue.sliding<Request>(1)
      let lastCountAt = Number.NEGATIVE_INFINITY

      const next: Effect.Effect<Request> = Effect.gen(function*() {
        const request = yield* Queue.take(requests)
        if (request._tag === "Known") return request
        const wait = lastCountAt + Duration.toMillis(BACKLOG_COUNT_INTERVAL) - (yield* Clock.currentTimeMillis)
        if (wait <= 0) return request
        yield* Effect.sleep(Duration.millis(wait))
        // what was asked for while waiting is newer
        return Option.getOrElse(yield* Queue.poll(requests), () => request)
      })

      const serve = (request: Request): Effect.Effect<void> => {
        if (request._tag === "Known") return Metric.update(Metrics.backlog, request.backlog)
        return Effect.gen(function*() {
          lastCountAt = yield* Clock.currentTimeMillis
          yield* request.count.pipe(
            Effect.flatMap((backlog) => Metric.update(Metrics.backlog, backlog)),
            Effect.catch((error) => Effect.logWarning(`backlog count skipped: ${error.message}`))
          )
        })
      }

      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(next, serve)))

      return BacklogGauge.of({
        refresh: (count) => Effect.asVoid(Queue.offer(requests, { _tag: "Count", count })),
        set: (backlog) => Effect.asVoid(Queue.offer(requests, { _tag: "Known", backlog }))
      })
    })
  )
}
