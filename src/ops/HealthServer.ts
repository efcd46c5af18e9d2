import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Context, Effect, Exit, Layer, Metric, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import * as Metrics from "../services/Metrics.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { JobHealth } from "../services/JobHealth.ts"

export interface HealthServerOptions {
  readonly port: number
  readonly host: string
}

/** The server could not start (the port is taken, the host is not an address of this machine). */
export class HealthServerError extends Schema.TaggedError<HealthServerError>()("HealthServerError", {
  message: Schema.String
}) {}

const listenError = (options: HealthServerOptions, cause: unknown): HealthServerError => {
  const e = cause as { readonly code?: unknown; readonly message?: unknown }
  const why = typeof e?.code === "string" ? e.code : typeof e?.message === "string" ? e.message : String(cause)
  return new HealthServerError({ message: `the health server cannot listen on ${options.host}:${options.port} (${why})` })
}

const nodeServer = (options: HealthServerOptions) =>
  Layer.merge(
    Layer.effect(HttpServer.HttpServer)(
      // A scrape in flight gets a few seconds to finish; the job's own grace period is longer.
      NodeHttpServer.make(createServer, { port: options.port, host: options.host, gracefulShutdownTimeout: "5 seconds" }).pipe(
        Effect.mapError((e) => listenError(options, e.cause))
      )
    ),
    NodeHttpServer.layerHttpServices
  )

const READY_TIMEOUT_SECONDS = 2

const pingFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "None") return "store ping failed"
  if (Cause.isTimeoutError(error.value)) return `store did not answer a ping within ${READY_TIMEOUT_SECONDS} s`
  // StoreError messages are scrubbed of credentials where the driver error is translated.
  const message = (error.value as { readonly message?: unknown }).message
  return `store ping failed: ${typeof message === "string" ? message : "unknown error"}`
}

const json = (body: unknown, status = 200) => HttpServerResponse.jsonUnsafe(body, { status })

const routes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const store = yield* ConversationStore
  const health = yield* JobHealth

  const ready = Effect.gen(function*() {
    const reasons: Array<string> = []
    const ping = yield* store.ping.pipe(Effect.timeout(`${READY_TIMEOUT_SECONDS} seconds`), Effect.exit)
    if (Exit.isFailure(ping)) reasons.push(pingFailure(ping.cause))
    const fatal = yield* health.fatal
    if (fatal !== undefined) reasons.push(`last batch ended run-fatally: ${fatal}`)
    return reasons.length === 0 ? json({ status: "ready" }) : json({ status: "not ready", reason: reasons.join("; ") }, 503)
  })

  yield* router.add("GET", "/health", json({ status: "ok" }))
  yield* router.add("GET", "/ready", ready)
}))

/**
 * Counters and histograms read 0 from the start rather than appearing with their first
 * update, so `rate()` sees the first increment. Gauges stay absent until they are known.
 */
const registerJobMetrics = Effect.forEach(
  Object.values(Metrics).filter((m) => m.type === "Counter" || m.type === "Histogram"),
  (m) => Metric.value(m as Metric.Metric<never, unknown>),
  { discard: true }
)

/**
 * The HTTP server for probes and scraping: `GET /health` (liveness), `GET /ready` (the store
 * answers a ping within 2 s and the last batch did not end run-fatally) and `GET /metrics`
 * (Prometheus text format). The service holds the address the server is bound to, which
 * tells the port when 0 (any free port) was asked for.
 */
export class HealthServer extends Context.Service<HealthServer, {
  readonly host: string
  readonly port: number
  /** `http://host:port`, to build request URLs from. */
  readonly url: string
}>()("cpa/HealthServer") {
  /** Starts the server with the layer and stops it when the layer's scope closes. */
  static readonly layerWithAddress = (options: HealthServerOptions): Layer.Layer<HealthServer, HealthServerError, ConversationStore | JobHealth> => {
    const address = Layer.effect(HealthServer)(Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      if (server.address._tag === "UnixPathAddress") return yield* Effect.die("the health server listens on TCP only")
      const bound = { host: options.host, port: server.address.port, url: HttpServer.formatAddress(server.address) }
      yield* registerJobMetrics
      yield* Effect.logInfo(`health server listening on ${bound.url} (/health, /ready, /metrics)`)
      return HealthServer.of(bound)
    }))
    const app = Layer.merge(routes, PrometheusMetrics.layerHttp())
    return Layer.merge(HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }), address).pipe(
      Layer.provide(nodeServer(options))
    )
  }

  /** `layerWithAddress` for callers that do not need the address. */
  static readonly layer = (options: HealthServerOptions): Layer.Layer<never, HealthServerError, ConversationStore | JobHealth> =>
    Layer.effectDiscard(Layer.build(HealthServer.layerWithAddress(options)))
}
