import * as fs from "node:fs"
import { afterAll, assert, describe, it } from "vitest"
import { DEAD_LETTER_COLLECTION } from "../../src/domain/Result.ts"
import {
  connect,
  dbArgs,
  dbView,
  drain,
  dropDb,
  E2E_SETTINGS,
  e2eMongoUri,
  errorLines,
  freshDbName,
  reportValue,
  runCli,
  seedSources,
  startCli,
  tempDir,
  withDb,
  writeConfig
} from "../support/e2e.ts"
import { checkInvariant } from "../support/invariant.ts"

const uri = e2eMongoUri("test/e2e/MongoCli.test.ts")
const dir = tempDir("mongo")
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const logLinesOf = (stderr: string, pattern: RegExp): number => stderr.split("\n").filter((l) => pattern.test(l)).length

const assertClean = async (mongoUri: string, dbName: string) => {
  const report = await checkInvariant(mongoUri, dbName)
  assert.deepStrictEqual(report.lost, [], "lost")
  assert.deepStrictEqual(report.duplicated, [], "duplicated")
  assert.deepStrictEqual(report.both, [], "result and open dead letter")
  return report
}

describe.skipIf(uri === "")("the CLI against the real MongoDB server", { concurrent: true }, () => {
  it("read-only commands write nothing to a fresh database; a run against a database without sentiment_analysis says so, exit 2", async () => {
    const db = freshDbName()
    const logDir = tempDir("readonly-logs", dir)
    const args = [...dbArgs(uri, db, logDir), "--llm", "heuristic"]
    const databases = async () => {
      const client = await connect(uri)
      try {
        return (await client.db().admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name)
      } finally {
        await client.close()
      }
    }
    for (const command of [["--stats-only"], ["dead-letters", "list"], ["dead-letters", "list", "--json"]]) {
      const r = await runCli([...command, ...args])
      assert.strictEqual(r.code, 0, `${command.join(" ")}: ${r.stderr}`)
      assert.notInclude(await databases(), db, `${command.join(" ")} created the database`)
    }
    const run = await runCli([...args, "--single-batch"])
    assert.strictEqual(run.code, 2, run.stderr)
    assert.strictEqual(run.stdout, "")
    assert.deepStrictEqual(errorLines(run.stderr).length, 1, run.stderr)
    assert.include(errorLines(run.stderr)[0], `database ${db} has no sentiment_analysis collection: check --db-name`)
    assert.notInclude(await databases(), db, "the refused run created the database")
  })

  it("one-shot commands exit 3 naming the instance that holds the lease; --wait waits for it instead", async () => {
    const db = freshDbName()
    const logDir = tempDir("lease-logs", dir)
    try {
      await seedSources(uri, db, 5)
      const acquired = new Date().toISOString()
      await withDb(uri, db, (d) =>
        d.collection("job_state").insertOne({
          job_name: "conversation_performance_analysis",
          lease: { owner: "web-7:4242:k3x9q", acquired_at: acquired, expires_at: new Date(Date.now() + 300_000).toISOString() }
        }))
      const args = [...dbArgs(uri, db, logDir), "--llm", "heuristic"]
      for (const oneShot of [["--single-batch"], ["--reset-state"]]) {
        const r = await runCli([...args, ...oneShot])
        assert.strictEqual(r.code, 3, `${oneShot.join(" ")}: ${r.stderr}`)
        assert.strictEqual(r.stdout, "")
        const lines = errorLines(r.stderr)
        assert.strictEqual(lines.length, 1, r.stderr)
        assert.include(lines[0], "web-7:4242:k3x9q (host web-7, pid 4242)")
        assert.include(lines[0], `since ${acquired}`)
        assert.include(lines[0], "--wait")
      }
      // dead-letters retry does not wait for the lease: it marks the records for the running job.
      await withDb(uri, db, (d) =>
        d.collection(DEAD_LETTER_COLLECTION).insertOne({
          source_object_id: "6b0d000000000000000000aa",
          conversation_id: "conv_6b0d000000000000000000aa",
          job_name: "conversation_performance_analysis",
          analysis_version: "4.3.0",
          status: "open",
          error: { tag: "AnalyzerError", reason: "Overloaded", message: "overloaded", retriable: true, http_status: 529, field: null, attempts: 4 },
          attempts: 4,
          failures: 1,
          first_failed_at: "2026-11-30T10:00:00Z",
          last_failed_at: "2026-11-30T10:00:00Z",
          resolved_at: null
        }))
      const retry = await runCli(["dead-letters", "retry", "--all", ...args])
      assert.strictEqual(retry.code, 0, retry.stderr)
      assert.include(retry.stdout, "1 dead letter(s) marked for retry: the job is running in another instance (web-7:4242:k3x9q (host web-7, pid 4242)")
      const marked = await withDb(uri, db, (d) => d.collection(DEAD_LETTER_COLLECTION).findOne({ source_object_id: "6b0d000000000000000000aa" }))
      assert.match(String(marked?.retry_requested_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      assert.strictEqual(marked?.status, "open")

      // A one-shot run told to --wait waits as a standby (saying so once) while the holder keeps
      // its lease, and takes over once the holder stops renewing it and the lease runs out.
      // (a 4 s lease.ttl_seconds: a standby looks again at least that often)
      const waiting = startCli([...args, "--config", writeConfig(dir, E2E_SETTINGS, "standby.yaml"), "--single-batch", "--wait"])
      await waiting.waitFor(/waiting as a standby/, 30_000)
      await withDb(uri, db, (d) =>
        d.collection("job_state").updateOne(
          { job_name: "conversation_performance_analysis" },
          { $set: { "lease.expires_at": new Date().toISOString() } }
        ))
      const waited = await waiting.exited
      assert.strictEqual(waited.code, 0, waited.stderr)
      assert.strictEqual(reportValue(waited.stdout, "Records Processed"), "5")
      assert.strictEqual(logLinesOf(waited.stderr, /waiting as a standby/), 1)
    } finally {
      await dropDb(uri, db)
    }
  })

  it("dead-letters: each bad id, unknown id, resolved id and empty selection gets its own line and exit code; field holds the path", async () => {
    const db = freshDbName()
    const logDir = tempDir("dl-logs", dir)
    try {
      const { ids } = await seedSources(uri, db, 6, 2)
      const args = [...dbArgs(uri, db, logDir), "--llm", "heuristic"]
      const batch = await runCli([...args, "--single-batch"])
      assert.strictEqual(batch.code, 0, batch.stderr)
      const open = await withDb(uri, db, (d) => d.collection(DEAD_LETTER_COLLECTION).find({ status: "open" }).toArray())
      assert.strictEqual(open.length, 2)
      for (const d of open) {
        assert.strictEqual(d.error.tag, "InvalidSourceDocument")
        assert.isString(d.error.field, "the path of the offending field")
        assert.isTrue(d.error.message.startsWith(`${d.error.field}:`), d.error.message)
      }
      const [bad] = open.map((d) => String(d.source_object_id))
      // One timestamp format in every collection: ISO 8601 to the second, as the guide writes them.
      const isoSecond = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
      for (const d of open) for (const t of [d.first_failed_at, d.last_failed_at]) assert.match(t, isoSecond)
      const view = await dbView(uri, db)
      assert.match(view.state.last_updated, isoSecond)
      assert.match(view.state.data.batch_stats.started_at, isoSecond)
      const result = await withDb(uri, db, (d) => d.collection("agentic_analysis").findOne({}))
      assert.match(result!.analysis_metadata.processed_timestamp, isoSecond)

      const notHex = await runCli(["dead-letters", "show", "nothex", ...args])
      assert.strictEqual(notHex.code, 2)
      assert.match(errorLines(notHex.stderr)[0]!, /"nothex" is not a source id/)
      const good = ids.find((id) => !open.some((d) => d.source_object_id === id))!
      const none = await runCli(["dead-letters", "show", good, ...args])
      assert.strictEqual(none.code, 2)
      assert.include(errorLines(none.stderr)[0], `no dead letter for source id ${good}`)

      const zzz = await runCli(["dead-letters", "retry", "--id", "zzz", ...args])
      assert.strictEqual(zzz.code, 2)
      assert.strictEqual(zzz.stdout, "")
      assert.match(errorLines(zzz.stderr)[0]!, /"zzz" is not a source id/)
      const unknown = await runCli(["dead-letters", "retry", "--id", good, ...args])
      assert.strictEqual(unknown.code, 2)
      assert.include(errorLines(unknown.stderr)[0], `no dead letter for source id ${good}`)

      for (const limit of ["0", "-1"]) {
        const r = await runCli(["dead-letters", "list", "--limit", limit, ...args])
        assert.strictEqual(r.code, 2, `--limit ${limit}`)
        assert.include(r.stderr, "--limit")
      }

      // Resolve one by hand, as a later success would: retrying it says so, exit 0.
      await withDb(uri, db, (d) =>
        d.collection(DEAD_LETTER_COLLECTION).updateOne({ source_object_id: bad }, { $set: { status: "resolved", resolved_at: "2026-11-30T12:00:00.000Z" } }))
      const resolved = await runCli(["dead-letters", "retry", "--id", bad!, ...args])
      assert.strictEqual(resolved.code, 0, resolved.stderr)
      assert.include(resolved.stdout, `${bad}: resolved at 2026-11-30T12:00:00.000Z; nothing to retry`)
      assert.notInclude(resolved.stdout, "BATCH RESULTS")
      const nothing = await runCli(["dead-letters", "retry", "--error", "RateLimited", ...args])
      assert.strictEqual(nothing.code, 0, nothing.stderr)
      assert.strictEqual(nothing.stdout.trim(), "no open dead letters with RateLimited: nothing to retry")
    } finally {
      await dropDb(uri, db)
    }
  })

  it("drains 130 records in batches of 100, exactly once, again after --reset-state, and --stats-only tells the truth", async () => {
    const db = freshDbName()
    const logDir = tempDir("mongo-logs", dir)
    try {
      const seeded = await seedSources(uri, db, 130, 13)
      const config = writeConfig(dir, E2E_SETTINGS, "drain.yaml")
      const args = [...dbArgs(uri, db, logDir), "--config", config, "--batch-size", "100", "--llm", "heuristic"]

      assert.deepStrictEqual(await drain(args), [100, 30, 0])
      const view = await dbView(uri, db)
      assert.strictEqual(view.sources, 130)
      assert.strictEqual(view.results + view.openDeadLetters, 130)
      assert.strictEqual(view.results, 117)
      assert.deepStrictEqual(view.openByTag, { InvalidSourceDocument: 13 })
      const deadIds = await withDb(uri, db, (d) => d.collection(DEAD_LETTER_COLLECTION).distinct("source_object_id"))
      assert.deepStrictEqual([...deadIds].sort(), [...seeded.malformedIds].sort())
      assert.strictEqual(view.state.status, "completed")
      assert.strictEqual(view.state.last_processed_object_id, seeded.ids.at(-1))
      await assertClean(uri, db)

      // Start again from the first record: everything is analyzed again, nothing is added.
      const reset = await runCli([...args, "--reset-state", "--single-batch"])
      assert.strictEqual(reset.code, 0, reset.stderr)
      assert.strictEqual(reportValue(reset.stdout, "Records Processed"), "100")
      assert.deepStrictEqual(await drain(args), [30, 0])
      const again = await dbView(uri, db)
      assert.strictEqual(again.results, 117)
      assert.strictEqual(again.openDeadLetters, 13)
      assert.strictEqual(again.resolvedDeadLetters, 0)
      const failures = await withDb(uri, db, (d) => d.collection(DEAD_LETTER_COLLECTION).distinct("failures"))
      assert.deepStrictEqual(failures, [2], "each malformed record failed once per pass")
      await assertClean(uri, db)

      // 1,000 newer sources make the backlog (and the separators) visible.
      await seedSources(uri, db, 1000)
      const before = await dbView(uri, db)
      const stats = await runCli([...args, "--stats-only"])
      assert.strictEqual(stats.code, 0, stats.stderr)
      assert.strictEqual(reportValue(stats.stdout, "Agentic Analysis Records"), "117")
      assert.strictEqual(reportValue(stats.stdout, "Latest Results"), "10")
      assert.strictEqual(reportValue(stats.stdout, "Source Records"), "1,130")
      assert.strictEqual(reportValue(stats.stdout, "Backlog"), "1,000")
      assert.strictEqual(reportValue(stats.stdout, "Open Dead Letters"), "13 (InvalidSourceDocument: 13)")
      assert.strictEqual(reportValue(stats.stdout, "Job Status"), "completed")
      assert.strictEqual(reportValue(stats.stdout, "Last Processed ID"), seeded.ids.at(-1))
      assert.strictEqual(stats.stdout.match(/^ {2}• conv_[0-9a-f]{24} - \S+ - heuristic/gm)?.length, 10)
      // --stats-only writes nothing
      assert.deepStrictEqual(await dbView(uri, db), before)
      await assertClean(uri, db)
    } finally {
      await dropDb(uri, db)
    }
  }, 180_000)
})
