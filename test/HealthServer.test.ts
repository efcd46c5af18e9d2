import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Metric } from "effect"
import { TestClock } from "effect/testing"
import * as net from "node:net"
import { StoreError } from "../src/domain/Errors.ts"
import * as Metrics from "../src/services/Metrics.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { HealthServer } from "../src/ops/HealthServer.ts"
import { JobHealth } from "../src/services/JobHealth.ts"
import {
  MemoryConversationStore,
  makeMemoryConversationStore,
  makeMemoryStoreState
} from "../src/store/memory/MemoryConversationStore.ts"

interface Reply {
  readonly status: number
  readonly contentType: string | null
  readonly body: string
}

const request = (url: string, init?: RequestInit) =>
  Effect.promise(async (): Promise<Reply> => {
    const r = await fetch(url, init)
    return { status: r.status, contentType: r.headers.get("content-type"), body: await r.text() }
  })

/** Runs `f` against a server on a free loopback port, stopped when `f` ends; a fresh (healthy) `JobHealth` unless one is given. */
const withServer = <A, E, R>(
  f: (url: string) => Effect.Effect<A, E, R>,
  store: Layer.Layer<ConversationStore> = MemoryConversationStore.layer(),
  health?: JobHealth["Service"]
) =>
  Effect.flatMap(HealthServer, (server) => f(server.url)).pipe(
    Effect.provide(HealthServer.layerWithAddress({ port: 0, host: "127.0.0.1" }).pipe(
      Layer.provide(Layer.merge(store, health === undefined ? JobHealth.layer : Layer.succeed(JobHealth, health)))
    ))
  )

const storeWithPing = (ping: ConversationStore["Service"]["ping"]) =>
  Layer.succeed(ConversationStore, { ...makeMemoryConversationStore(makeMemoryStoreState()), ping })

/** The health of a run whose last batch ended run-fatally. */
const failedHealth = (fatal: string) => Effect.tap(JobHealth.make, (health) => health.batchFailed(fatal))

interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: string
}

/** Parses sample lines of the text format, checking each line's syntax on the way. */
const parseSamples = (text: string): Array<Sample> => {
  assert.isTrue(text.endsWith("\n"), "the exposition ends with a newline")
  const samples: Array<Sample> = []
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
      assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* \S/)
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)$/.exec(line)
    assert.isNotNull(m, `not a valid sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of m![2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) {
      labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))
    }
    assert.match(m![3]!, /^([+-]?(\d+(\.\d+)?([eE][+-]?\d+)?|Inf)|NaN)$/, `bad value in ${line}`)
    samples.push({ name: m![1]!, labels, value: m![3]! })
  }
  return samples
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v)

const valueOf = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string> = {}): number | undefined => {
  const s = samples.find((s) => s.name === name && sameLabels(s.labels, labels))
  return s === undefined ? undefined : s.value === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.value)
}

/** The names a scrape config or dashboard uses (docs/deployment.md), written out so a rename fails. */
const COUNTERS = [
  "cpa_records_processed_total",
  "cpa_records_analyzed_total",
  "cpa_records_persisted_total",
  "cpa_records_dead_lettered_total",
  "cpa_llm_input_tokens_total",
  "cpa_llm_output_tokens_total"
]
const HISTOGRAMS = ["cpa_batch_duration_seconds", "cpa_analyzer_latency_seconds"]
const GAUGES = ["cpa_last_successful_batch_timestamp_seconds", "cpa_backlog_records"]

/** `family` appears as one contiguous run of lines, in this order. */
const assertFamily = (lines: ReadonlyArray<string>, family: ReadonlyArray<string>) => {
  const at = lines.indexOf(family[0]!)
  assert.isAtLeast(at, 0, `missing: ${family[0]}`)
  assert.deepStrictEqual(lines.slice(at, at + family.length), family)
}

describe("HealthServer", () => {
  it.effect("binds the given host on a free port when asked for port 0 and answers /health", () =>
    withServer((url) =>
      Effect.gen(function*() {
        assert.match(url, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/)
        const reply = yield* request(`${url}/health`)
        assert.strictEqual(reply.status, 200)
        assert.match(reply.contentType ?? "", /^application\/json/)
        assert.deepStrictEqual(JSON.parse(reply.body), { status: "ok" })
      })
    ))

  it.effect("/ready is 200 when the store answers its ping and no batch failed", () =>
    withServer((url) =>
      Effect.gen(function*() {
        const reply = yield* request(`${url}/ready`)
        assert.strictEqual(reply.status, 200)
        assert.deepStrictEqual(JSON.parse(reply.body), { status: "ready" })
      })
    ))

  it.effect("/ready is 503 with the store's message when the ping fails, while /health stays 200", () =>
    withServer(
      (url) =>
        Effect.gen(function*() {
          const reply = yield* request(`${url}/ready`)
          assert.strictEqual(reply.status, 503)
          const body = JSON.parse(reply.body)
          assert.strictEqual(body.status, "not ready")
          assert.include(body.reason, "connection refused")
          assert.strictEqual((yield* request(`${url}/health`)).status, 200)
        }),
      storeWithPing(Effect.fail(new StoreError({ reason: "Unavailable", operation: "ping", message: "connection refused" })))
    ))

  it.effect("/ready is 503 when the ping does not answer within 2 seconds", () =>
    Effect.gen(function*() {
      const pinged = yield* Deferred.make<void>()
      yield* withServer(
        (url) =>
          Effect.gen(function*() {
            const reply = yield* Effect.forkChild(request(`${url}/ready`))
            yield* Deferred.await(pinged)
            yield* TestClock.adjust(1999)
            assert.isUndefined(reply.pollUnsafe(), "still waiting before the timeout")
            yield* TestClock.adjust(1)
            const { body, status } = yield* Fiber.join(reply)
            assert.strictEqual(status, 503)
            assert.include(JSON.parse(body).reason, "within 2 s")
          }),
        storeWithPing(Deferred.succeed(pinged, undefined).pipe(Effect.andThen(Effect.never)))
      )
    }))

  it.effect("/ready is 503 with the fatal message while the last batch ended run-fatally, 200 once it is cleared", () =>
    Effect.gen(function*() {
      const health = yield* failedHealth("AnalyzerError: invalid x-api-key")
      yield* withServer((url) =>
        Effect.gen(function*() {
          const failed = yield* request(`${url}/ready`)
          assert.strictEqual(failed.status, 503)
          assert.deepStrictEqual(JSON.parse(failed.body), {
            status: "not ready",
            reason: "last batch ended run-fatally: AnalyzerError: invalid x-api-key"
          })
          yield* health.batchSucceeded
          assert.strictEqual((yield* request(`${url}/ready`)).status, 200)
        }), MemoryConversationStore.layer(), health)
    }))

  it.effect("/ready gives both reasons when the store is down and the last batch failed", () =>
    Effect.flatMap(failedHealth("store gone"), (health) =>
      withServer(
        (url) =>
          Effect.gen(function*() {
            const reply = yield* request(`${url}/ready`)
            assert.strictEqual(reply.status, 503)
            const reason: string = JSON.parse(reply.body).reason
            assert.include(reason, "server selection timed out")
            assert.include(reason, "store gone")
          }),
        storeWithPing(Effect.fail(new StoreError({ reason: "Timeout", operation: "ping", message: "server selection timed out" }))),
        health
      )))

  it.effect("/metrics serves the job's metrics in Prometheus text format", () =>
    withServer((url) =>
      Effect.gen(function*() {
        const before = yield* request(`${url}/metrics`)
        const initial = parseSamples(before.body)
        for (const name of COUNTERS) assert.strictEqual(valueOf(initial, name), 0, `${name} reads 0 before the first update`)
        for (const name of HISTOGRAMS) assert.strictEqual(valueOf(initial, `${name}_count`), 0, `${name} reads 0 before the first update`)
        for (const name of GAUGES) assert.isUndefined(valueOf(initial, name), `${name} appears once set`)

        yield* Metric.update(Metrics.recordsProcessed, 3)
        yield* Metric.update(Metrics.recordsProcessed, 2)
        yield* Metric.update(Metrics.backlog, 17)
        yield* Metric.update(Metrics.lastSuccessfulBatch, 1767225600.5)
        for (const seconds of [0.05, 0.7, 0.8, 12, 4000]) yield* Metric.update(Metrics.batchDuration, seconds)
        const quoted = Metric.counter("cpa_test_labelled_total", { attributes: { tag: "say \"hi\"\\now", "error.kind": "x" } })
        yield* Metric.update(quoted, 1)

        const reply = yield* request(`${url}/metrics`)
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.contentType, "text/plain; version=0.0.4; charset=utf-8")
        const lines = reply.body.split("\n")
        // Exact families, so that a renamed metric, a changed HELP or a lost bucket fails here.
        assertFamily(lines, [
          "# HELP cpa_records_processed_total Source records finished (persisted or dead-lettered)",
          "# TYPE cpa_records_processed_total counter",
          "cpa_records_processed_total 5"
        ])
        assertFamily(lines, [
          "# HELP cpa_backlog_records Source records after the checkpoint",
          "# TYPE cpa_backlog_records gauge",
          "cpa_backlog_records 17"
        ])
        assertFamily(lines, [
          "# HELP cpa_last_successful_batch_timestamp_seconds Unix time at which the last batch completed",
          "# TYPE cpa_last_successful_batch_timestamp_seconds gauge",
          "cpa_last_successful_batch_timestamp_seconds 1767225600.5"
        ])
        assertFamily(lines, [
          "# HELP cpa_batch_duration_seconds Duration of a batch",
          "# TYPE cpa_batch_duration_seconds histogram",
          "cpa_batch_duration_seconds_bucket{le=\"0.1\"} 1",
          "cpa_batch_duration_seconds_bucket{le=\"0.5\"} 1",
          "cpa_batch_duration_seconds_bucket{le=\"1\"} 3",
          "cpa_batch_duration_seconds_bucket{le=\"5\"} 3",
          "cpa_batch_duration_seconds_bucket{le=\"10\"} 3",
          "cpa_batch_duration_seconds_bucket{le=\"30\"} 4",
          "cpa_batch_duration_seconds_bucket{le=\"60\"} 4",
          "cpa_batch_duration_seconds_bucket{le=\"120\"} 4",
          "cpa_batch_duration_seconds_bucket{le=\"300\"} 4",
          "cpa_batch_duration_seconds_bucket{le=\"600\"} 4",
          "cpa_batch_duration_seconds_bucket{le=\"1800\"} 4",
          "cpa_batch_duration_seconds_bucket{le=\"+Inf\"} 5",
          "cpa_batch_duration_seconds_sum 4013.55",
          "cpa_batch_duration_seconds_count 5"
        ])
        const types = lines.filter((l) => l.startsWith("# TYPE cpa_"))
        for (const name of COUNTERS) assert.include(types, `# TYPE ${name} counter`)
        for (const name of HISTOGRAMS) assert.include(types, `# TYPE ${name} histogram`)
        for (const name of GAUGES) assert.include(types, `# TYPE ${name} gauge`)

        // Label order is not significant to Prometheus, so the escaped values are checked parsed.
        const samples = parseSamples(reply.body)
        assert.strictEqual(valueOf(samples, "cpa_test_labelled_total", { error_kind: "x", tag: "say \"hi\"\\now" }), 1)
      })
    ).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("answers 404 to other paths and methods", () =>
    withServer((url) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* request(`${url}/`)).status, 404)
        assert.strictEqual((yield* request(`${url}/healthz`)).status, 404)
        assert.strictEqual((yield* request(`${url}/metrics/extra`)).status, 404)
        assert.strictEqual((yield* request(`${url}/health`, { method: "POST" })).status, 404)
        assert.strictEqual((yield* request(`${url}/ready`, { method: "DELETE" })).status, 404)
      })
    ))

  it.effect("stops listening when its scope closes", () =>
    Effect.gen(function*() {
      const url = yield* withServer((url) => Effect.succeed(url))
      const refused = yield* Effect.promise(() => fetch(`${url}/health`).then(() => false, () => true))
      assert.isTrue(refused, "the port no longer accepts connections")
    }))

  it.effect("HealthServer.layer serves on the port it is given", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const reply = yield* request(`http://127.0.0.1:${port}/health`).pipe(
        Effect.provide(HealthServer.layer({ port, host: "127.0.0.1" }).pipe(Layer.provide(Layer.merge(MemoryConversationStore.layer(), JobHealth.layer))))
      )
      assert.strictEqual(reply.status, 200)
    }))

  it.effect("fails to start when the port is taken", () =>
    withServer((url) =>
      Effect.gen(function*() {
        const port = Number(new URL(url).port)
        const error = yield* Effect.flip(
          Effect.provide(Effect.void, HealthServer.layer({ port, host: "127.0.0.1" }).pipe(Layer.provide(Layer.merge(MemoryConversationStore.layer(), JobHealth.layer))))
        )
        assert.strictEqual(error._tag, "HealthServerError")
        assert.strictEqual(error.message, `the health server cannot listen on 127.0.0.1:${port} (EADDRINUSE)`)
      })
    ))
})

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
