import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { MongoClient } from "mongodb"
import { RESULT_COLLECTION } from "../src/domain/Result.ts"
import { startLoopbackClaude } from "../test/support/loopbackClaude.ts"
import { runCli, sampleDocs } from "./memory.ts"
import { seedSources } from "./overhead.ts"
import { log, round } from "./support.ts"

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
    const sizes: Array<number> = []
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
    for (const r of server.requestsTo("batches-create")) {
      const n = r.body?.requests?.length ?? 0
      if (n > 0) sizes.push(Number(r.headers["content-length"] ?? 0) / n)
    }
    const persisted = await client.db(dbName).collection(RESULT_COLLECTION).countDocuments({})
    const peak = run.peakKb !== undefined ? round(run.peakKb / 1024, 1) : undefined
    log(`batch mode: ${options.records} records: exit ${run.code}, ${server.batches.all.length} API batches, ${persisted} persisted, peak RSS ${peak} MB in ${round(run.seconds, 1)} s`)
    sizes.sort((a, b) => a - b)
    return {
      records: options.records,
      api_batches: server.batches.all.length,
      records_persisted: persisted,
      seed_seconds: round(seedSeconds, 2),
      wall_seconds: round(run.seconds, 2),
      peak_rss_mb: peak,
      request_bytes_median: sizes.length > 0 ? Math.round(sizes[Math.floor(sizes.length / 2)]!) : undefined,
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
