import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { RESULT_COLLECTION } from "../../src/domain/Result.ts"
import {
  anthropicEnv,
  connect,
  dbArgs,
  drain,
  E2E_SETTINGS,
  e2eMongoUri,
  errorLines,
  freshDbName,
  runCli,
  seedSources,
  startCli,
  tempDir,
  waitUntil,
  writeConfig
} from "../support/e2e.ts"
import { checkInvariant } from "../support/invariant.ts"
import { type FerretDbServer, startFerretDb } from "../support/mongo-server.ts"
import { type LoopbackClaude, startLoopbackClaude } from "../support/loopbackClaude.ts"

/**
 * The MongoDB server dies in the middle of a batch (SIGKILL of FerretDB, a server of this test's
 * own), comes back on the same port and data, and the job is run again. The connection string
 * carries a password (FerretDB 1.x accepts any with PLAIN), so the failure path is also checked
 * for leaking it.
 */

const PASSWORD = "Pw-KILL-s3cret-7d1e"
const API_KEY = "sk-ant-SECRET-kill-0c4f7a"
const TOTAL = 48
const MALFORMED = 4
const DELAY_MS = 250
const CONCURRENCY = 4

const withPassword = (uri: string) => `${uri.replace("mongodb://", `mongodb://cpa_job:${PASSWORD}@`)}?authMechanism=PLAIN&authSource=%24external`

const lastLine = (text: string) => text.trimEnd().split("\n").at(-1)

const suiteUri = e2eMongoUri("test/faults/mongoKill.test.ts")

describe.skipIf(suiteUri === "")("MongoDB killed in the middle of a batch", () => {
  let server: FerretDbServer
  let slow: LoopbackClaude
  const dir = tempDir("mongo-kill")
  beforeAll(async () => {
    server = await startFerretDb()
    slow = await startLoopbackClaude({ delayMs: DELAY_MS })
  }, 180_000)
  afterAll(async () => {
    await slow?.close()
    await server?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("a refused login is one error line too, though the server's message has a line break; exit 2 (configuration)", async () => {
    // FerretDB refuses SCRAM with "Unsupported authentication mechanism ...\nSee https://...".
    const uri = server.uri.replace("mongodb://", `mongodb://cpa_job:${PASSWORD}@`)
    const run = await runCli([...dbArgs(uri, freshDbName(), path.join(dir, "login-logs")), "--llm", "heuristic", "--single-batch"])
    assert.strictEqual(run.code, 2, run.stderr)
    const errors = errorLines(run.stderr)
    assert.strictEqual(errors.length, 1, run.stderr)
    assert.match(errors[0]!, /authentication/i)
    assert.notInclude(run.stderr, PASSWORD)
    assert.strictEqual(lastLine(run.stderr), errors[0], `the whole error is on the error line; stderr ends:\n${run.stderr.slice(-600)}`)
  }, 60_000)

  it("exits 1 with one clear error line; after a restart a re-run drains and nothing is lost or duplicated", async () => {
    const dbName = freshDbName()
    const logDir = path.join(dir, "logs")
    const config = writeConfig(dir, {
      ...E2E_SETTINGS,
      // 2 s: the first connection must survive a loaded machine (three test files at a time
      // took longer than 500 ms to select FerretDB); after the kill each retry waits this long.
      mongodb: { server_selection_timeout_ms: 2_000, socket_timeout_ms: 3_000 },
      job: { concurrency: CONCURRENCY },
      lease: { ttl_seconds: 3 }
    })
    const seeded = await seedSources(server.uri, dbName, TOTAL, MALFORMED)
    const args = [...dbArgs(withPassword(server.uri), dbName, logDir), "--config", config, "--llm", "anthropic", "--batch-size", "100", "--log-level", "DEBUG"]
    const env = anthropicEnv(slow.url, { ANTHROPIC_API_KEY: API_KEY })

    const child = startCli([...args, "--single-batch"], { env, timeoutMs: 120_000 })
    const watcher = await connect(server.uri, 2_000)
    let before = 0
    try {
      await waitUntil("a few results", async () => {
        if (child.process.exitCode !== null) throw new Error(`the CLI exited early:\n${child.stderr()}`)
        return (before = await watcher.db(dbName).collection(RESULT_COLLECTION).countDocuments()) >= 8
      }, 60_000, 50)
    } finally {
      await watcher.close().catch(() => undefined)
    }
    assert.isBelow(before, TOTAL - MALFORMED, "the batch is still in progress when the server dies")
    server.kill()
    const killedAt = Date.now()

    const run = await child.exited
    const exitAfterMs = run.endedAt - killedAt
    const errors = errorLines(run.stderr)
    assert.strictEqual(run.code, 1, `exit code; stderr:\n${run.stderr.slice(-3000)}`)
    assert.strictEqual(errors.length, 1, run.stderr.slice(-3000))
    assert.match(errors[0]!, /MongoDB/)
    assert.match(errors[0]!, /unreachable|unavailable|timed out|did not answer/i)
    assert.isBelow(errors[0]!.length, 600, "one line, not a stack trace")
    assert.notMatch(run.stderr, /^\s+at /m, "no stack trace anywhere")
    assert.isBelow(exitAfterMs, 45_000, "the job gives up within its server-selection retries")
    assert.strictEqual(lastLine(run.stderr), errors[0], "the error line is the last thing printed")
    assert.notInclude(run.stdout, "BATCH RESULTS", "no success report for a failed batch")
    process.stderr.write(`mongoKill: killed after ${before} results; the job exited ${exitAfterMs} ms later with: ${errors[0]}\n`)
    if (process.env.CPA_FAULTS_DEBUG === "1") process.stderr.write(run.stderr)

    await server.restart()
    const afterCrash = await checkInvariant(server.uri, dbName)
    assert.deepStrictEqual(
      { lost: afterCrash.lost, duplicated: afterCrash.duplicated, both: afterCrash.both },
      { lost: [], duplicated: [], both: [] },
      "after the crash"
    )
    assert.isAtLeast(afterCrash.results, before, "what was written before the kill is still there")

    const runs = await drain(args, { env, timeoutMs: 60_000, maxRuns: 4 })
    assert.isAtLeast(runs[0]!, 1, "the re-run resumes the unfinished records")
    const drained = await checkInvariant(server.uri, dbName)
    assert.deepStrictEqual(
      {
        lost: drained.lost,
        duplicated: drained.duplicated,
        both: drained.both,
        checkpoint: drained.checkpoint,
        results: drained.results,
        openDeadLetters: drained.openDeadLetters
      },
      { lost: [], duplicated: [], both: [], checkpoint: seeded.ids[TOTAL - 1]!, results: TOTAL - MALFORMED, openDeadLetters: MALFORMED }
    )
    // Records at or before the checkpoint saved at the crash are never analyzed again.
    if (afterCrash.checkpoint !== null) {
      for (const id of seeded.validIds.filter((id) => id <= afterCrash.checkpoint!)) {
        assert.strictEqual(slow.counts.get(id), 1, `${id} was before the checkpoint yet analyzed again`)
      }
    }
    for (const id of seeded.validIds) assert.isAtLeast(slow.counts.get(id) ?? 0, 1)

    const logs = fs.readdirSync(logDir).map((f) => fs.readFileSync(path.join(logDir, f), "utf8")).join("\n")
    for (const secret of [PASSWORD, API_KEY]) {
      assert.notInclude(run.stderr + run.stdout, secret)
      assert.notInclude(logs, secret)
    }
  }, 150_000)
})
