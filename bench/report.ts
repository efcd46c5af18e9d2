import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { type Db, MongoClient } from "mongodb"
import { RESULT_COLLECTION } from "../src/domain/Result.ts"
import { decodeConversation } from "../src/domain/Source.ts"
import { loadSourceFile } from "../src/store/memory/Samples.ts"
import { prng } from "../test/support/fixtures.ts"
import { resultOf } from "../test/support/reportFixtures.ts"
import { runCli } from "./memory.ts"
import { log, REPO_ROOT, round, timed } from "./support.ts"

/**
 * `cpa report` over N stored results on the test server, as a child process (`--format json
 * --out FILE`): its wall time and its peak RSS, as is (the default window, model and dimension:
 * two lookups, then the scan) and with the window and model given (the scan alone). The results
 * are spread over the 12 weeks the default window covers, among 40 agent handles, with scores
 * drawn at random within each KPI's range.
 */

export interface ReportRun {
  readonly results: number
  /** `default`: `cpa report` as is; `explicit`: with --since, --until and --model-used (no lookups, one scan). */
  readonly variant: "default" | "explicit"
  readonly seed_seconds: number
  readonly wall_seconds: number
  readonly peak_rss_mb: number | undefined
  readonly analyzed: number | undefined
  readonly exit_code: number | null
  readonly how: string
  readonly error?: string
}

const WEEKS_MS = 12 * 7 * 86_400_000
const START = Date.parse("2024-08-12T00:00:00Z")
const AGENTS = Array.from({ length: 40 }, (_, k) => `agent_${String(k).padStart(2, "0")}`)

/** A template result per sample conversation (built by the job's own `buildResult`). */
const templates = () =>
  Effect.runPromise(Effect.forEach(
    loadSourceFile(path.join(REPO_ROOT, "samples/sentiment_analysis.json"))
      .filter((r) => Effect.runSync(Effect.result(decodeConversation(r)))._tag === "Success")
      .slice(0, 50)
      .map((_, i) => i),
    (i) => resultOf({ i, at: "2024-08-12T10:00:00Z", agent: "template", processedAt: "2024-11-05T00:00:00Z" })
  ))

const pick = (rand: () => number, min: number, max: number, digits = 1) => Math.round((min + rand() * (max - min)) * 10 ** digits) / 10 ** digits

export const seedResults = async (db: Db, n: number): Promise<number> => {
  const base = await templates()
  const rand = prng(42)
  const { seconds } = await timed(async () => {
    for (let i = 0; i < n; i += 1000) {
      const docs = Array.from({ length: Math.min(1000, n - i) }, (_, k) => {
        const j = i + k
        const t = base[j % base.length]!
        const id = `${(Math.floor(START / 1000) + j).toString(16).padStart(8, "0")}${j.toString(16).padStart(16, "0")}`
        const pm = t.performance_metrics
        return {
          ...t,
          conversation_id: `conv_${id}`,
          source_object_id: id,
          source_timestamp: new Date(START + Math.floor(rand() * WEEKS_MS)).toISOString().replace(/\.\d{3}Z$/, "Z"),
          conversation_summary: { ...t.conversation_summary, agent_ids: [AGENTS[Math.floor(rand() * AGENTS.length)]!] },
          performance_metrics: {
            accuracy_compliance: { resolution_completeness: rand() < 0.6 ? 1 : 0, accuracy_automated_responses: pick(rand, 0, 100) },
            empathy_communication: { ...pm.empathy_communication, empathy_score: pick(rand, 0, 10, 2), sentiment_shift: pick(rand, -1, 1, 2), clarity_language: pick(rand, 1, 10, 2) },
            efficiency_resolution: {
              followup_necessity: rand() < 0.4 ? 1 : 0,
              customer_effort_score: pick(rand, 1, 7),
              first_response_accuracy: pick(rand, 0, 100),
              csat_resolution: pick(rand, 1, 5),
              escalation_rate: pick(rand, 0, 100),
              customer_effort_reduction: pick(rand, -100, 100)
            }
          }
        }
      })
      await db.collection(RESULT_COLLECTION).insertMany(docs, { ordered: false })
    }
  })
  return seconds
}

const VARIANTS = {
  default: [] as ReadonlyArray<string>,
  explicit: ["--since", "2024-08-12", "--until", "2024-11-04", "--model-used", "model-a"]
}

/** Seeds `results` results in a fresh database, then runs each variant of the report once. */
export const reportRuns = async (options: {
  readonly uri: string
  readonly results: number
  readonly variants: ReadonlyArray<ReportRun["variant"]>
  readonly socketTimeoutMs: number
}): Promise<Array<ReportRun>> => {
  const dbName = `cpa_bench_report_${options.results}_${process.pid}_${Date.now()}`
  const client = await new MongoClient(options.uri).connect()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-bench-report-"))
  try {
    log(`report: seeding ${options.results} results`)
    const seedSeconds = await seedResults(client.db(dbName), options.results)
    log(`report: seeded in ${round(seedSeconds, 1)} s`)
    const config = path.join(dir, "bench.yaml")
    fs.writeFileSync(config, `mongodb:\n  socket_timeout_ms: ${options.socketTimeoutMs}\n`)
    const runs: Array<ReportRun> = []
    for (const variant of options.variants) {
      const out = path.join(dir, `report-${variant}.json`)
      const run = await runCli([
        "report",
        "--config", config,
        "--mongo-uri", options.uri,
        "--db-name", dbName,
        "--format", "json",
        "--out", out,
        "--log-dir", dir,
        "--log-level", "warning",
        ...VARIANTS[variant]
      ])
      const analyzed = run.code === 0 ? (JSON.parse(fs.readFileSync(out, "utf8")) as { coverage: { analyzed: number } }).coverage.analyzed : undefined
      const peak = run.peakKb !== undefined ? round(run.peakKb / 1024, 1) : undefined
      log(`report (${variant}): ${options.results} results: exit ${run.code}, ${analyzed} in the report, ${round(run.seconds, 1)} s, peak RSS ${peak} MB`)
      if (run.code === 0 && analyzed !== options.results) throw new Error(`the report covered ${analyzed} results, expected ${options.results}`)
      runs.push({
        results: options.results,
        variant,
        seed_seconds: round(seedSeconds, 2),
        wall_seconds: round(run.seconds, 2),
        peak_rss_mb: peak,
        analyzed,
        exit_code: run.code,
        how: run.how,
        ...(run.code !== 0 ? { error: run.stderrTail.trim() } : {})
      })
    }
    return runs
  } finally {
    await client.db(dbName).dropDatabase().catch(() => undefined)
    await client.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
