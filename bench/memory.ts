import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { MongoClient } from "mongodb"
import { RESULT_COLLECTION } from "../src/domain/Result.ts"
import { seedSources } from "./overhead.ts"
import { CLI_NODE_FLAGS, log, REPO_ROOT, round, sampleDocs } from "./support.ts"

export interface ChildRun {
  readonly backlog: number
  readonly batches: number
  readonly records_processed: number
  readonly seed_seconds: number
  readonly wall_seconds: number
  readonly peak_rss_mb: number | undefined
  readonly how: string
  readonly exit_code: number | null
  /** The CLI's error line when it did not exit 0. */
  readonly error?: string
}

const TIME = "/usr/bin/time"

/** The CLI's environment without any setting that could override the flags. */
const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("CPA_") || k === "MONGODB_CONNECTION_STRING" || k === "LOG_LEVEL" || k.startsWith("ANTHROPIC") || k.startsWith("AICORE")) continue
    env[k] = v
  }
  return env
}

export interface CliRun {
  readonly code: number | null
  readonly peakKb: number | undefined
  readonly seconds: number
  readonly how: string
  readonly stderrTail: string
}

/** Runs the CLI as a child and returns its exit code and peak RSS (see `runNode`). */
export const runCli = (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}): Promise<CliRun> =>
  runNode(path.join(REPO_ROOT, "src/main.ts"), args, extraEnv, CLI_NODE_FLAGS)

/**
 * Runs a Node script as a child and returns its exit code and peak RSS: from `/usr/bin/time -v`
 * when present, else from the child's VmHWM read while it runs.
 */
export const runNode = (
  script: string,
  args: ReadonlyArray<string>,
  extraEnv: Record<string, string> = {},
  nodeArgs: ReadonlyArray<string> = []
): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const useTime = fs.existsSync(TIME)
    const node = process.execPath
    const cli = [...nodeArgs, script, ...args]
    const child = useTime ? spawn(TIME, ["-v", node, ...cli], { cwd: REPO_ROOT, env: { ...childEnv(), ...extraEnv } }) : spawn(node, cli, { cwd: REPO_ROOT, env: { ...childEnv(), ...extraEnv } })
    const start = performance.now()
    let stderr = ""
    child.stdout.resume()
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-20_000)))
    let hwm = 0
    const poll = useTime ? undefined : setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))
        if (m !== null) hwm = Math.max(hwm, Number(m[1]))
      } catch {
        // exited
      }
    }, 50)
    child.once("error", reject)
    child.once("exit", (code) => {
      if (poll !== undefined) clearInterval(poll)
      const seconds = (performance.now() - start) / 1000
      const exitCode = useTime ? Number(/Exit status: (\d+)/.exec(stderr)?.[1] ?? code) : code
      const peak = useTime ? /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] : String(hwm)
      const cliErrors = stderr.split("\n").filter((l) => l.startsWith("error:")).join("\n")
      resolve({
        code: exitCode,
        peakKb: peak !== undefined && Number(peak) > 0 ? Number(peak) : undefined,
        seconds,
        how: useTime ? `${TIME} -v (maximum resident set size)` : "VmHWM of /proc/<pid>/status, polled every 50 ms",
        stderrTail: cliErrors !== "" ? cliErrors : stderr.slice(-1000)
      })
    })
  })

/**
 * Seeds `backlog` source documents into a fresh database and runs the CLI (heuristic analyzer,
 * batch size 1000, interval mode) for `batches` batches; with `batches` = backlog/1000 + 1 it
 * drains the backlog and ends on an empty batch.
 */
export const childRss = async (options: {
  readonly uri: string
  readonly backlog: number
  readonly batches: number
  readonly batchSize: number
  /** `mongodb.socket_timeout_ms` of the child (the default is 60,000). */
  readonly socketTimeoutMs: number
}): Promise<ChildRun> => {
  const dbName = `cpa_bench_rss_${options.backlog}_${process.pid}_${Date.now()}`
  const client = await new MongoClient(options.uri).connect()
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-bench-logs-"))
  try {
    const docs = sampleDocs()
    log(`memory: seeding ${options.backlog} source documents`)
    const seedSeconds = await seedSources(client.db(dbName), options.backlog, (i) => docs[i % docs.length]!)
    log(`memory: seeded in ${round(seedSeconds, 1)} s; CLI for ${options.batches} batch(es)`)
    // FerretDB needs more than the default 60 s socket timeout to count a large backlog
    const config = path.join(logDir, "bench.yaml")
    fs.writeFileSync(config, `mongodb:\n  socket_timeout_ms: ${options.socketTimeoutMs}\n`)
    const run = await runCli([
      "--config", config,
      "--mongo-uri", options.uri,
      "--db-name", dbName,
      "--llm", "heuristic",
      "--batch-size", String(options.batchSize),
      "--interval", "0.01",
      "--max-iterations", String(options.batches),
      "--log-dir", logDir,
      "--log-level", "warning"
    ])
    const persisted = await client.db(dbName).collection(RESULT_COLLECTION).countDocuments({})
    const expected = Math.min(options.backlog, options.batches * options.batchSize)
    const peak = run.peakKb !== undefined ? round(run.peakKb / 1024, 1) : undefined
    log(`memory: backlog ${options.backlog}: exit ${run.code}, ${persisted} persisted, peak RSS ${peak} MB in ${round(run.seconds, 1)} s`)
    if (run.code === 0 && persisted !== expected) throw new Error(`the CLI persisted ${persisted} results, expected ${expected}`)
    return {
      backlog: options.backlog,
      batches: options.batches,
      records_processed: persisted,
      seed_seconds: round(seedSeconds, 2),
      wall_seconds: round(run.seconds, 2),
      peak_rss_mb: peak,
      how: run.how,
      exit_code: run.code,
      ...(run.code !== 0 ? { error: run.stderrTail.trim() } : {})
    }
  } finally {
    await client.db(dbName).dropDatabase().catch(() => undefined)
    await client.close()
    fs.rmSync(logDir, { recursive: true, force: true })
  }
}
