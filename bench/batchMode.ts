import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { MongoClient } from "mongodb"
import { RESULT_COLLECTION } from "../src/domain/Result.ts"
import { type LoopbackClaude, startLoopbackClaude } from "../test/support/loopbackClaude.ts"
import type { BatchModeChildReport } from "./batchModeChild.ts"
import { runCli, runNode } from "./memory.ts"
import { seedSources } from "./overhead.ts"
import { log, REPO_ROOT, round, sampleDocs } from "./support.ts"

export interface BatchModeRun {
  readonly records: number
  readonly api_batches: number
  readonly records_persisted: number
  readonly seed_seconds: number
  readonly wall_seconds: number
  readonly peak_rss_mb: number | undefined
  /** Median bytes of one batch request (`custom_id` + `params`) as the CLI sent it. */
  readonly request_bytes_median: number | undefined
  readonly exit_code: number | null
  readonly error?: string
}

/** Median bytes per request of the batches the loopback server was sent (from `content-length`). */
const medianRequestBytes = (server: LoopbackClaude): number | undefined => {
  const sizes: Array<number> = []
  for (const r of server.requestsTo("batches-create")) {
    const n = r.body?.requests?.length ?? 0
    if (n > 0) sizes.push(Number(r.headers["content-length"] ?? 0) / n)
  }
  sizes.sort((a, b) => a - b)
  return sizes.length > 0 ? Math.round(sizes[Math.floor(sizes.length / 2)]!) : undefined
}

/**
 * Batch mode end to end as a child process: `records` source documents, one job batch of
 * `--batch-size records` (`--single-batch`), a loopback Message Batches API in this process
 * that ends every batch at once; peak RSS of the CLI while it builds, uploads and collects.
 */
export const batchModeRss = async (options: { readonly uri: string; readonly records: number; readonly socketTimeoutMs: number }): Promise<BatchModeRun> => {
  const dbName = `cpa_bench_batch_${options.records}_${process.pid}_${Date.now()}`
  const client = await new MongoClient(options.uri).connect()
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-bench-logs-"))
  const server = await startLoopbackClaude({ keepBodies: false })
  try {
    const docs = sampleDocs()
    log(`batch mode: seeding ${options.records} source documents`)
    const seedSeconds = await seedSources(client.db(dbName), options.records, (i) => docs[i % docs.length]!)
    const config = path.join(logDir, "bench.yaml")
    fs.writeFileSync(config, `mongodb:\n  socket_timeout_ms: ${options.socketTimeoutMs}\n`)
    const run = await runCli([
      "--config", config,
      "--mongo-uri", options.uri,
      "--db-name", dbName,
      "--llm", "anthropic",
      "--llm-mode", "batch",
      "--single-batch",
      "--batch-size", String(options.records),
      "--poll-interval", "0.01",
      "--log-dir", logDir,
      "--log-level", "warning"
    ], { ANTHROPIC_API_KEY: "bench-key", ANTHROPIC_BASE_URL: server.url })
    const persisted = await client.db(dbName).collection(RESULT_COLLECTION).countDocuments({})
    const peak = run.peakKb !== undefined ? round(run.peakKb / 1024, 1) : undefined
    log(`batch mode: ${options.records} records: exit ${run.code}, ${server.batches.all.length} API batches, ${persisted} persisted, peak RSS ${peak} MB in ${round(run.seconds, 1)} s`)
    return {
      records: options.records,
      api_batches: server.batches.all.length,
      records_persisted: persisted,
      seed_seconds: round(seedSeconds, 2),
      wall_seconds: round(run.seconds, 2),
      peak_rss_mb: peak,
      request_bytes_median: medianRequestBytes(server),
      exit_code: run.code,
      ...(run.code !== 0 ? { error: run.stderrTail.trim() } : {})
    }
  } finally {
    await server.close()
    await client.db(dbName).dropDatabase().catch(() => undefined)
    await client.close()
    fs.rmSync(logDir, { recursive: true, force: true })
  }
}

export interface GeneratedBatchModeRun {
  readonly records: number
  readonly api_batches: number
  /** Requests the loopback server received, over every API batch. */
  readonly requests_submitted: number
  /** Distinct records the sink saw persisted (each exactly once when `verified`). */
  readonly records_persisted: number
  readonly verified: boolean
  readonly wall_seconds: number
  /** From `runNode` (`/usr/bin/time -v`), as the FerretDB runs measure it. */
  readonly peak_rss_mb: number | undefined
  /** The child's own `process.resourceUsage().maxRSS` at its end: the same figure, seen from inside. */
  readonly self_max_rss_mb: number | undefined
  readonly heap_used_peak_mb: number | undefined
  readonly external_peak_mb: number | undefined
  readonly array_buffers_peak_mb: number | undefined
  readonly request_bytes_median: number | undefined
  readonly how: string
  readonly node_args?: string
  readonly exit_code: number | null
  readonly error?: string
}

/**
 * Batch mode's program in a child process (`bench/batchModeChild.ts`: `runBatchMode({ single:
 * true })` under the lease, the real Message Batches adapter over HTTP to a loopback server in
 * this process) over `records` source documents generated on demand by the child's store, whose
 * writes are a counting sink: memory at a size FerretDB cannot reach in reasonable time.
 */
export const batchModeGeneratedRss = async (options: {
  readonly records: number
  /** Flags for the child's `node` (diagnostics: `--expose-gc` with BENCH_MEMORY_TRACE, heap limits). */
  readonly nodeArgs?: ReadonlyArray<string>
}): Promise<GeneratedBatchModeRun> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-bench-batch-"))
  const server = await startLoopbackClaude({ keepBodies: false })
  try {
    const out = path.join(dir, "report.json")
    log(`batch mode (generated store): ${options.records} records`)
    const run = await runNode(
      path.join(REPO_ROOT, "bench/batchModeChild.ts"),
      ["--records", String(options.records), "--out", out, "--log-dir", path.join(dir, "logs")],
      { ANTHROPIC_API_KEY: "bench-key", ANTHROPIC_BASE_URL: server.url },
      options.nodeArgs
    )
    const report = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, "utf8")) as BatchModeChildReport : undefined
    const peak = run.peakKb !== undefined ? round(run.peakKb / 1024, 1) : undefined
    const submitted = server.batches.all.reduce((n, b) => n + b.customIds.length, 0)
    log(
      `batch mode (generated store): ${options.records} records: exit ${run.code}, ${server.batches.all.length} API batches, ` +
        `${report?.sink.distinct} persisted${report?.ok === true ? " (verified)" : ""}, peak RSS ${peak} MB in ${round(run.seconds, 1)} s`
    )
    const error = report?.error ?? (run.code !== 0 ? run.stderrTail.trim() : undefined)
    return {
      records: options.records,
      api_batches: server.batches.all.length,
      requests_submitted: submitted,
      records_persisted: report?.sink.distinct ?? 0,
      verified: report?.ok === true && submitted === options.records,
      wall_seconds: round(run.seconds, 2),
      peak_rss_mb: peak,
      self_max_rss_mb: report?.max_rss_mb,
      heap_used_peak_mb: report?.heap_used_peak_mb,
      external_peak_mb: report?.external_peak_mb,
      array_buffers_peak_mb: report?.array_buffers_peak_mb,
      request_bytes_median: medianRequestBytes(server),
      how: run.how,
      ...(options.nodeArgs !== undefined && options.nodeArgs.length > 0 ? { node_args: options.nodeArgs.join(" ") } : {}),
      exit_code: run.code,
      ...(error !== undefined ? { error } : submitted !== options.records ? { error: `${submitted} requests submitted for ${options.records} records` } : {})
    }
  } finally {
    await server.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
