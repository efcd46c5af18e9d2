import * as fs from "node:fs"
import * as path from "node:path"
import type { MongoClient } from "mongodb"
import { afterAll, assert, describe, it } from "vitest"
import { DEAD_LETTER_COLLECTION, RESULT_COLLECTION } from "../../src/domain/Result.ts"
import {
  anthropicEnv,
  type Child,
  connect,
  countResults,
  dbArgs,
  dbView,
  dropDb,
  E2E_SETTINGS,
  e2eMongoUri,
  errorLines,
  freshDbName,
  logLines,
  recordsProcessed,
  reportValue,
  runCli,
  seedSources,
  startCli,
  tempDir,
  waitUntil,
  withDb,
  writeConfig
} from "../support/e2e.ts"
import { checkInvariant } from "../support/invariant.ts"
import { type LoopbackClaude, startLoopbackClaude } from "../support/loopbackClaude.ts"

const uri = e2eMongoUri("test/e2e/Lifecycle.test.ts")
const dir = tempDir("lifecycle")
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const assertClean = async (dbName: string) => {
  const report = await checkInvariant(uri, dbName)
  assert.deepStrictEqual(report.lost, [], "lost")
  assert.deepStrictEqual(report.duplicated, [], "duplicated")
  assert.deepStrictEqual(report.both, [], "result and open dead letter")
  return report
}

/** A database with `n` valid source documents and a loopback Claude, both gone after `body`. */
const withWorld = async (
  n: number,
  slowOptions: { readonly delayMs: number },
  body: (w: { readonly db: string; readonly ids: ReadonlyArray<string>; readonly slow: LoopbackClaude; readonly logDir: string }) => Promise<void>
) => {
  const db = freshDbName()
  const slow = await startLoopbackClaude(slowOptions)
  try {
    const { ids } = await seedSources(uri, db, n)
    await body({ db, ids, slow, logDir: tempDir("lifecycle-logs", dir) })
  } finally {
    await slow.close()
    await dropDb(uri, db)
  }
}

const waitForResults = async (dbName: string, n: number, child: Child, timeoutMs: number) => {
  const client: MongoClient = await connect(uri)
  try {
    await waitUntil(`${n} results`, async () => {
      if (child.process.exitCode !== null) throw new Error(`the CLI exited early:\n${child.stderr()}`)
      return (await countResults(client, dbName)) >= n
    }, timeoutMs)
  } finally {
    await client.close()
  }
}

/** Records the loopback Claude was asked about more than once. */
const repeated = (slow: LoopbackClaude) => [...slow.counts].filter(([, c]) => c > 1).map(([id]) => id)

describe.skipIf(uri === "")("the job's lifecycle against the real MongoDB server (child processes where signals or a live lease holder matter)", { concurrent: true }, () => {
  it("SIGTERM in the middle of a batch: in-flight records finish, status stopped, exit 0; a re-run completes, each record analyzed once", async () => {
    await withWorld(60, { delayMs: 400 }, async ({ db, ids, logDir, slow }) => {
      const config = writeConfig(dir, { ...E2E_SETTINGS, shutdown: { grace_seconds: 10 } }, "sigterm.yaml")
      const args = [...dbArgs(uri, db, logDir), "--config", config, "--llm", "anthropic", "--batch-size", "60", "--concurrency", "4", "--single-batch"]
      const env = anthropicEnv(slow.url)
      const child = startCli(args, { env })
      await waitForResults(db, 10, child, 40_000)
      child.signal("SIGTERM")
      const termAt = Date.now()
      const requestedBefore = slow.total()
      const r = await child.exited

      assert.strictEqual(r.code, 0, r.stderr)
      assert.match(r.stderr, /SIGTERM: finishing records in flight/)
      assert.deepStrictEqual(errorLines(r.stderr), [])
      // Only the records in flight (at most --concurrency) may still be started.
      assert.isAtMost(
        slow.total() - requestedBefore,
        4,
        `records taken after SIGTERM: ${requestedBefore} requests had been sent when it came, ${slow.total()} when the CLI exited`
      )
      assert.isBelow(r.endedAt - termAt, 10_000, "within the grace period")
      const stopped = await dbView(uri, db)
      assert.strictEqual(stopped.state.status, "stopped")
      // every record taken was finished: the checkpoint is the last of them, and saved
      assert.strictEqual(stopped.state.last_processed_object_id, ids[stopped.results - 1])
      assert.strictEqual(reportValue(r.stdout, "Records Processed"), String(stopped.results))
      await assertClean(db)

      const rerun = await runCli(args, { env })
      assert.strictEqual(rerun.code, 0, rerun.stderr)
      assert.strictEqual(reportValue(rerun.stdout, "Records Processed"), String(60 - stopped.results))
      const done = await dbView(uri, db)
      assert.strictEqual(done.state.status, "completed")
      assert.strictEqual(done.results, 60)
      assert.deepStrictEqual([...slow.counts.keys()].sort(), [...ids].sort())
      assert.deepStrictEqual(repeated(slow), [], "each record analyzed exactly once")
      await assertClean(db)
    })
  }, 120_000)

  it("a second SIGTERM stops at once: exit 130, status stopped, the lease released; in JSON mode the stop lines are JSON and in the log file", async () => {
    await withWorld(30, { delayMs: 200 }, async ({ db, logDir, slow }) => {
      const config = writeConfig(dir, { ...E2E_SETTINGS, shutdown: { grace_seconds: 60 } }, "sigterm2.yaml")
      const args = [
        ...dbArgs(uri, db, logDir),
        "--config",
        config,
        "--llm",
        "anthropic",
        "--batch-size",
        "30",
        "--concurrency",
        "2",
        "--single-batch",
        "--log-format",
        "json"
      ]
      const child = startCli(args, { env: anthropicEnv(slow.url) })
      await waitForResults(db, 2, child, 40_000)
      // The records in flight never get an answer: only a second signal can end the run.
      slow.pause()
      child.signal("SIGTERM")
      await child.waitFor(/finishing records in flight/, 20_000)
      child.signal("SIGTERM")
      const r = await child.exited
      slow.resume()
      assert.strictEqual(r.code, 130, r.stderr)
      const stop = r.stderr.split("\n").find((l) => l.includes("finishing records in flight"))!
      const parsed = JSON.parse(stop) as { message: unknown; logLevel: unknown }
      assert.match(String(parsed.message), /^SIGTERM: finishing records in flight/)
      const files = fs.readdirSync(logDir).filter((f) => f.endsWith(".log"))
      assert.strictEqual(files.length, 1)
      assert.include(fs.readFileSync(path.join(logDir, files[0]!), "utf8"), "SIGTERM: finishing records in flight")
      const after = await dbView(uri, db)
      assert.strictEqual(after.state.status, "stopped")
      assert.notOk(after.state.lease, "the lease is released on the way out")
      await assertClean(db)
    })
  }, 120_000)

  it("SIGKILL in the middle of a batch: the re-run loses nothing and stores nothing twice", async () => {
    await withWorld(60, { delayMs: 400 }, async ({ db, ids, logDir, slow }) => {
      const config = writeConfig(dir, E2E_SETTINGS, "sigkill.yaml")
      const args = [...dbArgs(uri, db, logDir), "--config", config, "--llm", "anthropic", "--batch-size", "60", "--concurrency", "4", "--single-batch"]
      const env = anthropicEnv(slow.url)
      const child = startCli(args, { env })
      await waitForResults(db, 24, child, 40_000)
      child.signal("SIGKILL")
      const r = await child.exited
      assert.strictEqual(r.signal, "SIGKILL")
      const askedBeforeKill = new Set(slow.counts.keys())
      const killed = await dbView(uri, db)
      assert.isBelow(killed.results, 60)
      assert.strictEqual(killed.state.status, "running")
      const checkpoint = killed.state.last_processed_object_id
      // The checkpoint was saved as the batch went, not only at its end: the results stored
      // after it are the ones finished since the last save (a few, however loaded the machine).
      const finalBeforeKill = checkpoint === null ? 0 : ids.indexOf(checkpoint) + 1
      assert.isAtMost(killed.results - finalBeforeKill, 12, `results after the saved checkpoint ${checkpoint}`)
      await assertClean(db)

      // the re-run (told to --wait) waits for the dead process's lease (4 s) to expire, then finishes the batch
      const rerun = await runCli([...args, "--wait"], { env })
      assert.strictEqual(rerun.code, 0, rerun.stderr)
      const done = await dbView(uri, db)
      assert.strictEqual(done.results, 60)
      assert.strictEqual(done.openDeadLetters, 0)
      assert.strictEqual(done.state.last_processed_object_id, ids.at(-1))
      assert.deepStrictEqual([...slow.counts.keys()].sort(), [...ids].sort())
      // Analyzed twice: exactly the records the killed run had asked about after its saved
      // checkpoint (in flight, or finished since the last save); nothing before it.
      const expectedTwice = ids.slice(finalBeforeKill).filter((id) => askedBeforeKill.has(id))
      assert.deepStrictEqual(repeated(slow).sort(), expectedTwice.sort())
      assert.isTrue([...slow.counts.values()].every((c) => c <= 2))
      await assertClean(db)
    })
  }, 120_000)

  it("two instances started together: one takes the lease, the other waits; every record analyzed once", async () => {
    await withWorld(40, { delayMs: 50 }, async ({ db, ids, logDir, slow }) => {
      const config = writeConfig(dir, E2E_SETTINGS, "pair.yaml")
      const args = [
        ...dbArgs(uri, db, logDir),
        "--config",
        config,
        "--llm",
        "anthropic",
        "--batch-size",
        "20",
        "--concurrency",
        "4",
        "--interval",
        "0.02",
        "--max-iterations",
        "3"
      ]
      // No answers until both have looked at the lease: the one that took it is then still working.
      slow.pause()
      const a = startCli(args, { env: anthropicEnv(slow.url, { CPA_INSTANCE_ID: "inst-a" }) })
      const b = startCli(args, { env: anthropicEnv(slow.url, { CPA_INSTANCE_ID: "inst-b" }) })
      const looked = /taken by inst-\w|held by inst-\w.*; waiting as a standby/
      await Promise.all([a.waitFor(looked, 60_000), b.waitFor(looked, 60_000)])
      slow.resume()
      const [ra, rb] = await Promise.all([a.exited, b.exited])
      assert.strictEqual(ra.code, 0, ra.stderr)
      assert.strictEqual(rb.code, 0, rb.stderr)

      const runs = [{ name: "inst-a", r: ra }, { name: "inst-b", r: rb }]
      const waiters = runs.filter(({ r }) => /held by inst-\w.*; waiting as a standby/.test(r.stderr))
      assert.strictEqual(waiters.length, 1, `exactly one waited:\n--- a\n${ra.stderr}\n--- b\n${rb.stderr}`)
      const waiter = waiters[0]!
      const winner = runs.find((x) => x !== waiter)!
      assert.include(waiter.r.stderr, `held by ${winner.name}, holding it since`)
      assert.strictEqual(logLines(waiter.r.stderr, /waiting as a standby/).length, 1, "who holds the lease is said once, not on every renewal")
      const won = logLines(winner.r.stderr, /taken by/)
      assert.strictEqual(won.length, 1)
      assert.include(won[0]!.line, `taken by ${winner.name}`)
      // The waiter gets the lease only once the winner has released it, after its last batch.
      const winnerLast = logLines(winner.r.stderr, /batch 3 done/)
      assert.strictEqual(winnerLast.length, 1, winner.r.stderr)
      for (const { at } of logLines(waiter.r.stderr, /taken by/)) assert.isAtLeast(at, winnerLast[0]!.at)

      // RUN TOTALS come last: the winner did all the work
      assert.strictEqual(recordsProcessed(winner.r.stdout).at(-1), 40)
      assert.strictEqual(recordsProcessed(waiter.r.stdout).at(-1) ?? 0, 0)
      assert.deepStrictEqual([...slow.counts.keys()].sort(), [...ids].sort())
      assert.deepStrictEqual(repeated(slow), [], "each record analyzed exactly once")
      const report = await assertClean(db)
      assert.strictEqual(report.results, 40)
    })
  }, 120_000)

  it("an instance SIGKILLed while holding the lease: the next one waits for it to expire, takes over and drains", async () => {
    await withWorld(40, { delayMs: 100 }, async ({ db, ids, logDir, slow }) => {
      const config = writeConfig(dir, E2E_SETTINGS, "takeover.yaml")
      const args = [...dbArgs(uri, db, logDir), "--config", config, "--llm", "anthropic", "--batch-size", "40", "--concurrency", "4", "--single-batch"]
      const a = startCli(args, { env: anthropicEnv(slow.url, { CPA_INSTANCE_ID: "inst-a" }) })
      await a.waitFor(/taken by inst-a/, 60_000)
      await waitForResults(db, 4, a, 40_000)
      // A stays busy (its requests go unanswered) until B has seen its lease, however slowly B starts.
      slow.pause()
      // B is a one-shot run told to --wait; at debug level it logs each lease expiry it sees
      const b = startCli([...args, "--wait", "--log-level", "debug"], { env: anthropicEnv(slow.url, { CPA_INSTANCE_ID: "inst-b" }) })
      await b.waitFor(/held by inst-a until \S+; waiting/, 60_000)
      a.signal("SIGKILL")
      const killedAt = Date.now()
      const ra = await a.exited
      assert.strictEqual(ra.signal, "SIGKILL", ra.stderr)
      slow.resume()

      const rb = await b.exited
      assert.strictEqual(rb.code, 0, rb.stderr)
      const taken = logLines(rb.stderr, /taken by inst-b/)
      assert.strictEqual(taken.length, 1, rb.stderr)
      const held = [...rb.stderr.matchAll(/held by inst-a until (\S+); waiting/g)].map((m) => Date.parse(m[1]!))
      assert.isAtLeast(taken[0]!.at, Math.max(...held), "B took over only after the last lease A renewed had expired")
      assert.isAtLeast(taken[0]!.at, killedAt)
      assert.isBelow(taken[0]!.at - killedAt, 4_000 + 3_000, "and soon after (lease.ttl_seconds 4)")

      const done = await dbView(uri, db)
      assert.strictEqual(done.results, 40)
      assert.strictEqual(done.state.status, "completed")
      assert.deepStrictEqual([...slow.counts.keys()].sort(), [...ids].sort())
      const twice = repeated(slow)
      assert.isAtMost(twice.length, 4, `analyzed twice: ${twice.join(", ")}`)
      await assertClean(db)
    })
  }, 120_000)

  it("dead letters: list by tag, --json, show the full report, retry --all resolves them; retry without a selection exits 2", async () => {
    await withWorld(12, { delayMs: 0 }, async ({ db, ids, logDir, slow }) => {
      const config = writeConfig(dir, E2E_SETTINGS, "dead.yaml")
      const base = [...dbArgs(uri, db, logDir), "--config", config]
      const env = anthropicEnv(slow.url)
      const rejected = [ids[2]!, ids[5]!, ids[9]!]
      for (const id of rejected) slow.statusFor.set(id, 400)

      const batch = await runCli([...base, "--llm", "anthropic", "--single-batch"], { env })
      assert.strictEqual(batch.code, 0, batch.stderr)
      assert.strictEqual(reportValue(batch.stdout, "Records Processed"), "12")
      assert.strictEqual(reportValue(batch.stdout, "Errors"), "3")

      const list = await runCli(["dead-letters", "list", ...base], { env })
      assert.strictEqual(list.code, 0, list.stderr)
      assert.match(list.stdout, /^Open dead letters: 3$/m)
      assert.match(list.stdout, /^ {2}AnalyzerError: 3$/m)
      assert.strictEqual(list.stdout.match(/AnalyzerError\/BadRequest/g)?.length, 3, list.stdout)

      const json = await runCli(["dead-letters", "list", "--json", ...base], { env })
      assert.strictEqual(json.code, 0, json.stderr)
      const parsed = JSON.parse(json.stdout) as { counts: Array<{ tag: string; count: number }>; records: Array<{ source_object_id: string }> }
      assert.deepStrictEqual(parsed.counts, [{ tag: "AnalyzerError", count: 3 }])
      assert.deepStrictEqual(parsed.records.map((d) => d.source_object_id).sort(), [...rejected].sort())

      const show = await runCli(["dead-letters", "show", rejected[1]!, ...base], { env })
      assert.strictEqual(show.code, 0, show.stderr)
      const letter = JSON.parse(show.stdout)
      assert.strictEqual(letter.source_object_id, rejected[1])
      assert.strictEqual(letter.status, "open")
      assert.strictEqual(letter.attempts, 1)
      assert.deepInclude(letter.error, { tag: "AnalyzerError", reason: "BadRequest", http_status: 400, attempts: 1, retriable: false })
      assert.include(letter.error.message, "400")

      const usage = await runCli(["dead-letters", "retry", ...base], { env })
      assert.strictEqual(usage.code, 2)
      assert.strictEqual(errorLines(usage.stderr).length, 1, usage.stderr)

      slow.statusFor.clear()
      const retry = await runCli(["dead-letters", "retry", "--all", "--llm", "anthropic", ...base], { env })
      assert.strictEqual(retry.code, 0, retry.stderr)
      assert.match(retry.stdout, /^BATCH RESULTS$/m)
      assert.strictEqual(reportValue(retry.stdout, "Records Processed"), "3")
      assert.strictEqual(reportValue(retry.stdout, "Records Persisted"), "3")
      assert.strictEqual(reportValue(retry.stdout, "Errors"), "0")

      const letters = await withDb(uri, db, (d) => d.collection(DEAD_LETTER_COLLECTION).find().toArray())
      assert.deepStrictEqual(letters.map((d) => d.source_object_id).sort(), [...rejected].sort())
      for (const d of letters) {
        assert.strictEqual(d.status, "resolved")
        assert.isString(d.resolved_at)
      }
      const stored = await withDb(uri, db, (d) => d.collection(RESULT_COLLECTION).distinct("source_object_id"))
      assert.deepStrictEqual([...stored].sort(), [...ids].sort())
      for (const id of ids) assert.strictEqual(slow.counts.get(id), rejected.includes(id) ? 2 : 1, id)
      const report = await assertClean(db)
      assert.strictEqual(report.openDeadLetters, 0)

      // Each row names its record in full, so that it can be passed to `show` and `retry --id`.
      for (const id of rejected) assert.match(list.stdout, new RegExp(`^${id} +AnalyzerError/BadRequest +1 `, "m"), list.stdout)
    })
  }, 120_000)
})
