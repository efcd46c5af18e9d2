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
import { renderPrometheus } from "../src/ops/Prometheus.ts"

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

const valueOf = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string> = {}): number | undefined => {
  const s = samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))
  return s === undefined ? undefined : s.value === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.value)
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
        const before = parseSamples((yield* request(`${url}/metrics`)).body)
        assert.strictEqual(valueOf(before, "cpa_records_processed_total"), 0, "counters read 0 before the first update")
        assert.strictEqual(valueOf(before, "cpa_batch_duration_seconds_count"), 0)
        assert.isUndefined(valueOf(before, "cpa_backlog_records"), "gauges appear once set")

        yield* Metric.update(Metrics.recordsProcessed, 3)
        yield* Metric.update(Metrics.recordsProcessed, 2)
        yield* Metric.update(Metrics.backlog, 17)
        for (const seconds of [0.05, 0.7, 0.8, 12, 4000]) yield* Metric.update(Metrics.batchDuration, seconds)
        const quoted = Metric.counter("cpa_test_labelled_total", { attributes: { tag: "say \"hi\"\\now", "error.kind": "x" } })
        yield* Metric.update(quoted, 1)

        const reply = yield* request(`${url}/metrics`)
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.contentType, "text/plain; version=0.0.4; charset=utf-8")
        const lines = reply.body.split("\n")
        assert.include(lines, "# HELP cpa_records_processed_total Source records finished (persisted or dead-lettered)")
        assert.include(lines, "# TYPE cpa_records_processed_total counter")
        assert.include(lines, "# TYPE cpa_backlog_records gauge")
        assert.include(lines, "# TYPE cpa_batch_duration_seconds histogram")
        assert.include(lines, "cpa_test_labelled_total{error_kind=\"x\",tag=\"say \\\"hi\\\"\\\\now\"} 1")

        const samples = parseSamples(reply.body)
        assert.strictEqual(valueOf(samples, "cpa_records_processed_total"), 5)
        assert.strictEqual(valueOf(samples, "cpa_backlog_records"), 17)
        assert.strictEqual(valueOf(samples, "cpa_test_labelled_total", { error_kind: "x", tag: "say \"hi\"\\now" }), 1)

        const buckets = samples.filter((s) => s.name === "cpa_batch_duration_seconds_bucket")
        assert.deepStrictEqual(buckets.map((b) => b.labels.le), [
          "0.1", "0.5", "1", "5", "10", "30", "60", "120", "300", "600", "1800", "+Inf"
        ])
        assert.deepStrictEqual(buckets.map((b) => Number(b.value)), [1, 1, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5])
        assert.strictEqual(valueOf(samples, "cpa_batch_duration_seconds_count"), 5)
        assert.closeTo(valueOf(samples, "cpa_batch_duration_seconds_sum")!, 4013.55, 1e-9)
        // A family's lines are contiguous: every sample of a name comes after its TYPE line.
        const typeAt = lines.indexOf("# TYPE cpa_batch_duration_seconds histogram")
        const sampleAt = lines.map((l, i) => (l.startsWith("cpa_batch_duration_seconds") ? i : -1)).filter((i) => i >= 0)
        assert.deepStrictEqual(sampleAt, sampleAt.map((_, k) => typeAt + 1 + k))
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

describe("renderPrometheus", () => {
  type Snapshot = Metric.Metric.Snapshot

  it("renders counters and gauges with HELP, TYPE and sorted, escaped labels", () => {
    const snapshots: Array<Snapshot> = [
      { id: "jobs_total", type: "Counter", description: "Jobs\nrun \\ so far", attributes: { zone: "b", app: "cpa" }, state: { count: 4, incremental: true } },
      { id: "jobs_total", type: "Counter", description: "Jobs\nrun \\ so far", attributes: { zone: "a\"\n\\", app: "cpa" }, state: { count: 1, incremental: true } },
      { id: "big", type: "Gauge", description: undefined, attributes: undefined, state: { value: 12345678901234567890n } }
    ]
    assert.strictEqual(
      renderPrometheus(snapshots),
      [
        "# TYPE big gauge",
        "big 12345678901234567890",
        "# HELP jobs_total Jobs\\nrun \\\\ so far",
        "# TYPE jobs_total counter",
        "jobs_total{app=\"cpa\",zone=\"b\"} 4",
        "jobs_total{app=\"cpa\",zone=\"a\\\"\\n\\\\\"} 1",
        ""
      ].join("\n")
    )
  })

  it("renders histograms with cumulative buckets, +Inf equal to the count, _sum and _count", () => {
    const text = renderPrometheus([{
      id: "latency_seconds",
      type: "Histogram",
      description: "Latency",
      attributes: { le: "dropped", op: "x" },
      state: { buckets: [[0.5, 2], [1, 3], [Number.POSITIVE_INFINITY, 3]], count: 4, min: 0.1, max: 9, sum: 10.6 }
    }])
    assert.strictEqual(
      text,
      [
        "# HELP latency_seconds Latency",
        "# TYPE latency_seconds histogram",
        "latency_seconds_bucket{op=\"x\",le=\"0.5\"} 2",
        "latency_seconds_bucket{op=\"x\",le=\"1\"} 3",
        "latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 4",
        "latency_seconds_sum{op=\"x\"} 10.6",
        "latency_seconds_count{op=\"x\"} 4",
        ""
      ].join("\n")
    )
  })

  it("renders summaries and frequencies, and special float values", () => {
    const text = renderPrometheus([
      { id: "size", type: "Summary", description: undefined, attributes: undefined, state: { quantiles: [[0.5, 3], [0.99, undefined]], count: 2, min: 1, max: 5, sum: 6 } },
      { id: "status", type: "Frequency", description: undefined, attributes: undefined, state: { occurrences: new Map([["200", 7], ["5\"x", 1]]) } },
      { id: "temp", type: "Gauge", description: undefined, attributes: undefined, state: { value: Number.NEGATIVE_INFINITY } }
    ])
    assert.strictEqual(
      text,
      [
        "# TYPE size summary",
        "size{quantile=\"0.5\"} 3",
        "size{quantile=\"0.99\"} NaN",
        "size_sum 6",
        "size_count 2",
        "# TYPE status counter",
        "status{key=\"200\"} 7",
        "status{key=\"5\\\"x\"} 1",
        "# TYPE temp gauge",
        "temp -Inf",
        ""
      ].join("\n")
    )
  })

  it("makes names valid and keeps one type per family", () => {
    const text = renderPrometheus([
      { id: "http.requests-total", type: "Counter", description: "", attributes: { "1st-key": "v" }, state: { count: 2, incremental: false } },
      { id: "http.requests-total", type: "Gauge", description: undefined, attributes: undefined, state: { value: 9 } },
      { id: "9lives", type: "Gauge", description: undefined, attributes: undefined, state: { value: 0.25 } }
    ])
    assert.strictEqual(
      text,
      ["# TYPE _9lives gauge", "_9lives 0.25", "# TYPE http_requests_total counter", "http_requests_total{_1st_key=\"v\"} 2", ""].join("\n")
    )
    assert.strictEqual(renderPrometheus([]), "")
  })
})
