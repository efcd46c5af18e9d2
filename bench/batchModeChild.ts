/**
 * Child process of the `batch` bench section (see `batchModeGeneratedRss` in batchMode.ts):
 * batch mode as `cpa --llm anthropic --llm-mode batch --single-batch --batch-size N` runs it
 * (`runBatchMode` under the job's lease, the real Message Batches adapter and SDK over HTTP to
 * the loopback server at `ANTHROPIC_BASE_URL`, settings resolved from the repository's YAML and
 * this environment, the in-memory job state), with one difference: the ConversationStore is
 * `makeGeneratedStore`, N records generated on demand and a sink for the results.
 *
 *   node bench/batchModeChild.ts --records N --out FILE --log-dir DIR
 *
 * Writes a `BatchModeChildReport` as JSON to FILE; exits 0 when every record ended as exactly
 * one persisted result, else 1.
 */
import * as fs from "node:fs"
import { Cause, Effect, Exit, Layer } from "effect"
import { batchProviderLayer } from "../src/analyzer/AnalyzerProvider.ts"
import { loggingLayer, toLogLevel } from "../src/ops/Logging.ts"
import { runBatchMode } from "../src/programs/BatchMode.ts"
import { withLease } from "../src/programs/Lease.ts"
import { ConversationStore } from "../src/services/ConversationStore.ts"
import { JobHealth } from "../src/services/JobHealth.ts"
import { Shutdown } from "../src/services/Shutdown.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { makeGeneratedStore, type SinkCounts } from "./generatedStore.ts"
import { benchSettings, sampleDocs } from "./support.ts"

export interface BatchModeChildReport {
  readonly records: number
  readonly ok: boolean
  /** What failed: the program's error, or the counts that do not add up. */
  readonly error?: string
  readonly sink: SinkCounts
  /** `records_persisted` and `errors` of BATCH RESULTS (the program's own totals). */
  readonly persisted: number | undefined
  readonly errors: number | undefined
  readonly seconds: number
  /** `process.resourceUsage().maxRSS` at the end, in MB. */
  readonly max_rss_mb: number
  /** Largest V8 heap and off-heap (external, of which array buffers) figures sampled every 100 ms, in MB. */
  readonly heap_used_peak_mb: number
  readonly external_peak_mb: number
  readonly array_buffers_peak_mb: number
}

const arg = (name: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  const value = i < 0 ? undefined : process.argv[i + 1]
  if (value === undefined) throw new Error(`batchModeChild: --${name} is required`)
  return value
}

const MB = 1024 * 1024
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10

const main = async () => {
  const records = Number.parseInt(arg("records"), 10)
  const out = arg("out")
  const logDir = arg("log-dir")
  const started = performance.now()

  const peaks = { heapUsed: 0, external: 0, arrayBuffers: 0 }
  // BENCH_MEMORY_TRACE=FILE: every second, a line with that second's peaks (and, under
  // --expose-gc, what is live after a full collection) appended to FILE, to see what grows.
  const traceFile = process.env.BENCH_MEMORY_TRACE
  let second = { rss: 0, heapUsed: 0, arrayBuffers: 0 }
  let ticks = 0
  const sample = () => {
    const m = process.memoryUsage()
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed)
    peaks.external = Math.max(peaks.external, m.external)
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, m.arrayBuffers)
    if (traceFile === undefined || traceFile === "") return
    second = { rss: Math.max(second.rss, m.rss), heapUsed: Math.max(second.heapUsed, m.heapUsed), arrayBuffers: Math.max(second.arrayBuffers, m.arrayBuffers) }
    if (++ticks % 10 !== 0) return
    const gc = (globalThis as { gc?: () => void }).gc
    const live = gc === undefined ? "" : (gc(), ` live: heapUsed ${mb(process.memoryUsage().heapUsed)} arrayBuffers ${mb(process.memoryUsage().arrayBuffers)}`)
    fs.appendFileSync(
      traceFile,
      `t=${Math.round((performance.now() - started) / 1000)}s peak: rss ${mb(second.rss)} heapUsed ${mb(second.heapUsed)} arrayBuffers ${mb(second.arrayBuffers)}; heapTotal ${mb(m.heapTotal)}${live}\n`
    )
    second = { rss: 0, heapUsed: 0, arrayBuffers: 0 }
  }
  const sampler = setInterval(sample, 100).unref()

  const { settings, layer: settingsLayer } = benchSettings({
    llm: "anthropic",
    llmMode: "batch",
    batchSize: records,
    pollInterval: "0.01",
    logLevel: "warning",
    logDir
  }, process.env)
  const generated = makeGeneratedStore(records, sampleDocs())
  const services = Layer.mergeAll(
    Layer.succeed(ConversationStore, generated.store),
    MemoryJobStateStore.layer(),
    JobHealth.layer,
    Shutdown.layer,
    batchProviderLayer
  ).pipe(Layer.provideMerge(settingsLayer))
  const program = withLease(runBatchMode({ single: true }), { wait: false }).pipe(
    Effect.provide(services),
    Effect.provide(loggingLayer({
      level: toLogLevel(settings.logLevel),
      format: settings.logFormat,
      dir: settings.logDir,
      retentionDays: settings.logRetentionDays
    }))
  )
  const exit = await Effect.runPromiseExit(program)
  clearInterval(sampler)
  sample()

  const sink = generated.counts()
  const stats = Exit.isSuccess(exit) ? exit.value : undefined
  const problems: Array<string> = []
  if (Exit.isFailure(exit)) problems.push(Cause.pretty(exit.cause))
  // Every record persisted exactly once: as many upserts as records, each of a distinct
  // generated id; nothing dead-lettered, nothing foreign; the program's totals agree.
  if (sink.upserts !== records) problems.push(`${sink.upserts} upserts for ${records} records`)
  if (sink.distinct !== records) problems.push(`${sink.distinct} distinct records persisted of ${records}`)
  if (sink.duplicates > 0) problems.push(`${sink.duplicates} duplicate upserts`)
  if (sink.foreign > 0) problems.push(`${sink.foreign} upserts of ids that were not generated`)
  if (sink.notBatchTier > 0) problems.push(`${sink.notBatchTier} results without service_tier batch`)
  if (sink.deadLetters > 0) problems.push(`${sink.deadLetters} dead letters`)
  if (stats !== undefined && stats.records_persisted !== records) problems.push(`BATCH RESULTS says ${stats.records_persisted} persisted`)

  const report: BatchModeChildReport = {
    records,
    ok: problems.length === 0,
    ...(problems.length > 0 ? { error: problems.join("; ") } : {}),
    sink,
    persisted: stats?.records_persisted,
    errors: stats?.errors,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    max_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
    heap_used_peak_mb: mb(peaks.heapUsed),
    external_peak_mb: mb(peaks.external),
    array_buffers_peak_mb: mb(peaks.arrayBuffers)
  }
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)
  process.exitCode = report.ok ? 0 : 1
}

main().catch((error: unknown) => {
  // One `error:` line, which is what the bench reports of a failed child.
  process.stderr.write(`error: batchModeChild: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
