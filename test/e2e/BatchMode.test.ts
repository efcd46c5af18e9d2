import * as fs from "node:fs"
import { afterAll, assert, describe, it } from "vitest"
import {
  anthropicEnv,
  dbArgs,
  dropDb,
  E2E_SETTINGS,
  e2eMongoUri,
  freshDbName,
  reportValue,
  runCli,
  runCliChild,
  seedSources,
  startCli,
  tempDir,
  withDb,
  writeConfig
} from "../support/e2e.ts"
import { checkInvariant } from "../support/invariant.ts"
import { type LoopbackClaude, startLoopbackClaude } from "../support/loopbackClaude.ts"

const uri = e2eMongoUri("test/e2e/BatchMode.test.ts")
const dir = tempDir("batchmode")
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const PRICE = { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }
const config = writeConfig(dir, { ...E2E_SETTINGS, llm: { ...E2E_SETTINGS.llm, prices: { "claude-sonnet-4-6": PRICE } } })

const args = (db: string, ...more: Array<string>) => [
  ...dbArgs(uri, db, tempDir("batch-logs", dir)),
  "--config",
  config,
  "--llm",
  "anthropic",
  "--llm-mode",
  "batch",
  "--poll-interval",
  "0.001",
  ...more
]

/** The shared flags only: what `cpa batches ...` takes. */
const sharedArgs = (db: string) => [...dbArgs(uri, db, tempDir("batch-logs", dir)), "--config", config, "--llm", "anthropic"]

const assertInvariant = async (db: string, sources: number) => {
  const inv = await checkInvariant(uri, db)
  assert.deepStrictEqual(inv.lost, [])
  assert.deepStrictEqual(inv.duplicated, [])
  assert.deepStrictEqual(inv.both, [])
  assert.strictEqual(inv.results + inv.openDeadLetters, sources)
  return inv
}

/** No record in two batches unless its first outcome was canceled or expired. */
const assertSubmittedOnce = (server: LoopbackClaude, except: ReadonlySet<string> = new Set()) => {
  for (const [id, n] of server.batches.submissions()) if (!except.has(id)) assert.strictEqual(n, 1, `${id} submitted ${n} times`)
}

describe.skipIf(uri === "")("--llm-mode batch against a loopback Message Batches API and the real MongoDB server", { concurrent: true }, () => {
  it("a batch that succeeds whole: one API batch, every result stored at batch prices, BATCH RESULTS", async () => {
    const server = await startLoopbackClaude()
    const db = freshDbName()
    try {
      const seeded = await seedSources(uri, db, 12, 2)
      const r = await runCli(args(db, "--single-batch", "--batch-size", "50"), { env: anthropicEnv(server.url) })
      assert.strictEqual(r.code, 0, r.stderr)
      assert.strictEqual(reportValue(r.stdout, "Records Processed"), "12")
      assert.strictEqual(reportValue(r.stdout, "Records Persisted"), "10")
      assert.strictEqual(reportValue(r.stdout, "Errors"), "2")
      assert.strictEqual(server.batches.all.length, 1)
      assert.deepStrictEqual([...server.batches.all[0]!.customIds].sort(), [...seeded.validIds].sort())
      assert.strictEqual(server.requestsTo("messages").length, 0)
      // the online request builder, with the one-hour cache
      const params = server.batches.all[0]!.params[0] as any
      assert.strictEqual(params.tool_choice.name, "record_kpi_scores")
      assert.deepStrictEqual(params.system[0].cache_control, { type: "ephemeral", ttl: "1h" })
      await withDb(uri, db, async (d) => {
        const result = await d.collection("agentic_analysis").findOne({})
        assert.strictEqual(result?.analysis_metadata.service_tier, "batch")
        assert.isAbove(result?.analysis_metadata.estimated_cost_usd, 0)
        const state = await d.collection("job_state").findOne({})
        assert.strictEqual(state?.last_processed_object_id, seeded.ids.at(-1))
        assert.deepStrictEqual(state?.batch_mode.batches, [])
      })
      await assertInvariant(db, 12)
      assertSubmittedOnce(server)
    } finally {
      await server.close()
      await dropDb(uri, db)
    }
  })

  it("mixed outcomes: errored of each kind, canceled and expired go back into the queue and end in the next batch", async () => {
    const server = await startLoopbackClaude()
    const db = freshDbName()
    try {
      const seeded = await seedSources(uri, db, 10)
      const [a, b, c, d, e] = seeded.ids
      server.batches.outcomeFor.set(a!, { errored: "invalid_request_error" })
      server.batches.outcomeFor.set(b!, { errored: "overloaded_error" })
      server.batches.outcomeFor.set(c!, { errored: "api_error" })
      server.batches.outcomeFor.set(d!, "canceled")
      server.batches.outcomeFor.set(e!, "expired")
      const first = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(first.code, 0, first.stderr)
      assert.strictEqual(reportValue(first.stdout, "Records Persisted"), "5")
      assert.strictEqual(reportValue(first.stdout, "Errors"), "1")
      await withDb(uri, db, async (dbh) => {
        const state = await dbh.collection("job_state").findOne({})
        assert.sameMembers(state?.batch_mode.requeue.map((r: any) => r.id), [b, c, d, e])
        // the checkpoint stays before the records back in the queue
        assert.strictEqual(state?.last_processed_object_id, null)
      })
      server.batches.outcomeFor.clear()
      const second = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(second.code, 0, second.stderr)
      assert.deepStrictEqual([...server.batches.all[1]!.customIds].sort(), [b, c, d, e].sort())
      await withDb(uri, db, async (dbh) => {
        const state = await dbh.collection("job_state").findOne({})
        assert.strictEqual(state?.last_processed_object_id, seeded.ids.at(-1))
        assert.strictEqual((await dbh.collection("failed_analysis_records").findOne({}))?.source_object_id, a)
      })
      await assertInvariant(db, 10)
      assertSubmittedOnce(server, new Set([b!, c!, d!, e!]))
    } finally {
      await server.close()
      await dropDb(uri, db)
    }
  })

  it("a results stream cut off half way: the run fails, the next one collects the same batch again and changes nothing twice", async () => {
    const server = await startLoopbackClaude()
    const db = freshDbName()
    try {
      // Results are handled 200 at a time: the cut after 230 lines comes after the first group
      // (with its dead letter) was stored.
      const seeded = await seedSources(uri, db, 240)
      const rejected = seeded.ids[5]!
      server.batches.outcomeFor.set(rejected, { errored: "invalid_request_error" })
      server.batches.cutResultsAfter = 230
      const first = await runCli(args(db, "--single-batch", "--batch-size", "300"), { env: anthropicEnv(server.url) })
      assert.strictEqual(first.code, 1)
      const deadLetter = () => withDb(uri, db, (d) => d.collection("failed_analysis_records").findOne({ source_object_id: rejected }))
      assert.strictEqual((await deadLetter())?.failures, 1)
      server.batches.cutResultsAfter = undefined
      const second = await runCli(args(db, "--single-batch", "--batch-size", "300"), { env: anthropicEnv(server.url) })
      assert.strictEqual(second.code, 0, second.stderr)
      assert.strictEqual(reportValue(second.stdout, "Records Persisted"), "239")
      assert.strictEqual(server.batches.all.length, 1)
      // the same failure reported again by the second collection is not a second failure
      const d = await deadLetter()
      assert.strictEqual(d?.failures, 1)
      assert.strictEqual(d?.attempts, 1)
      await assertInvariant(db, 240)
      assertSubmittedOnce(server)
    } finally {
      await server.close()
      await dropDb(uri, db)
    }
  }, 90_000)

  for (const point of ["after-intent", "after-create"] as const) {
    it(`SIGKILL ${point === "after-intent" ? "after the intent is saved, before the batch is created" : "after the batch is created, before its id is saved"}: nothing paid twice, nothing lost`, async () => {
      const server = await startLoopbackClaude()
      const db = freshDbName()
      try {
        await seedSources(uri, db, 6)
        const killed = await runCliChild(args(db, "--single-batch"), { env: anthropicEnv(server.url, { CPA_TEST_CRASH_AT: point }), timeoutMs: 60_000 })
        assert.notStrictEqual(killed.code, 0)
        assert.strictEqual(server.batches.all.length, point === "after-intent" ? 0 : 1)
        // The killed run left its lease to expire: the next one-shot run waits for it (--wait) instead of exiting 3.
        const next = await runCliChild(args(db, "--single-batch", "--wait"), { env: anthropicEnv(server.url), timeoutMs: 60_000 })
        assert.strictEqual(next.code, 0, next.stderr)
        // after-create: the batch the crash created is adopted, not created again
        assert.strictEqual(server.batches.all.length, 1)
        if (point === "after-create") assert.match(next.stderr, /adopted Message Batch/)
        await assertInvariant(db, 6)
        assertSubmittedOnce(server)
      } finally {
        await server.close()
        await dropDb(uri, db)
      }
    })
  }

  it("SIGTERM while polling: exits 0 and leaves the batch running; --stats-only shows it; the next start collects it", async () => {
    const server = await startLoopbackClaude()
    const db = freshDbName()
    try {
      await seedSources(uri, db, 5)
      server.batches.endAfterMs = 3_600_000
      const child = startCli(args(db, "--interval", "0.01"), { env: anthropicEnv(server.url), timeoutMs: 60_000 })
      await child.waitFor(/Message Batch msgbatch_\S+: in_progress/, 30_000)
      child.signal("SIGTERM")
      const stopped = await child.exited
      assert.strictEqual(stopped.code, 0, stopped.stderr)
      assert.match(stopped.stderr, /left running on Anthropic's side/)
      assert.strictEqual(server.batches.all.length, 1)
      assert.isFalse(server.batches.all[0]!.canceled)

      // --stats-only calls no API: the last known state comes from job_state
      const calls = server.requests.length
      const stats = await runCli(args(db, "--stats-only"), { env: anthropicEnv(server.url) })
      assert.strictEqual(stats.code, 0, stats.stderr)
      assert.match(stats.stdout, /Message Batches In Flight: 1/)
      assert.match(stats.stdout, /msgbatch_loopback_1 - in_progress - 5 requests - processing 5/)
      assert.strictEqual(server.requests.length, calls)

      // --reset-state would forget the batch in flight: refused, exit 2, the state untouched
      const before = await withDb(uri, db, (d) => d.collection("job_state").findOne({}, { projection: { _id: 0, lease: 0 } }))
      const reset = await runCli(args(db, "--reset-state", "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(reset.code, 2, reset.stderr)
      assert.match(reset.stderr, /--reset-state: 1 Message Batch\(es\) of job \S+ not collected yet \(msgbatch_loopback_1\); collect them first/)
      assert.deepStrictEqual(await withDb(uri, db, (d) => d.collection("job_state").findOne({}, { projection: { _id: 0, lease: 0 } })), before)
      assert.strictEqual(server.requests.length, calls)

      server.batches.now += 3_600_000
      const next = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(next.code, 0, next.stderr)
      assert.strictEqual(reportValue(next.stdout, "Records Persisted"), "5")
      assert.strictEqual(server.batches.all.length, 1)
      await assertInvariant(db, 5)
      assertSubmittedOnce(server)
    } finally {
      await server.close()
      await dropDb(uri, db)
    }
  })

  it("batches list|show|cancel: a cancelled batch's records return to the queue and end in the next batch", async () => {
    const server = await startLoopbackClaude()
    const db = freshDbName()
    try {
      const seeded = await seedSources(uri, db, 4)
      server.batches.endAfterMs = 3_600_000
      const first = await runCli(args(db, "--max-iterations", "1"), { env: anthropicEnv(server.url) })
      assert.strictEqual(first.code, 0, first.stderr)
      const id = server.batches.all[0]!.id

      const list = await runCli([...sharedArgs(db), "batches", "list", "--format", "json"], { env: anthropicEnv(server.url) })
      assert.strictEqual(list.code, 0, list.stderr)
      const listed = JSON.parse(list.stdout)
      assert.strictEqual(listed[0].id, id)
      assert.isTrue(listed[0].in_flight_for_this_job)
      const show = await runCli([...sharedArgs(db), "batches", "show", id], { env: anthropicEnv(server.url) })
      assert.strictEqual(show.code, 0, show.stderr)
      assert.match(show.stdout, /This job: 4 requests/)
      const cancel = await runCli([...sharedArgs(db), "batches", "cancel", id], { env: anthropicEnv(server.url) })
      assert.strictEqual(cancel.code, 0, cancel.stderr)
      assert.isTrue(server.batches.all[0]!.canceled)
      const unknown = await runCli([...sharedArgs(db), "batches", "show", "msgbatch_nope"], { env: anthropicEnv(server.url) })
      assert.strictEqual(unknown.code, 1)

      // --single-batch adopts the batch in flight: collected, all canceled, back into the queue
      // (never dead-lettered); the next run sends them again
      server.batches.endAfterMs = 0
      const second = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(second.code, 0, second.stderr)
      assert.strictEqual(reportValue(second.stdout, "Errors"), "0")
      assert.strictEqual(reportValue(second.stdout, "Records Persisted"), "0")
      assert.strictEqual(server.batches.all.length, 1)
      const third = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(third.code, 0, third.stderr)
      assert.strictEqual(reportValue(third.stdout, "Records Persisted"), "4")
      assert.strictEqual(server.batches.all.length, 2)
      assert.deepStrictEqual([...server.batches.all[1]!.customIds].sort(), [...seeded.ids].sort())
      await assertInvariant(db, 4)
    } finally {
      await server.close()
      await dropDb(uri, db)
    }
  })

  it("stops after K identical non-retriable errors in a row instead of dead-lettering the backlog", async () => {
    const server = await startLoopbackClaude()
    const db = freshDbName()
    try {
      const seeded = await seedSources(uri, db, 8)
      for (const id of seeded.ids) server.batches.outcomeFor.set(id, { errored: "invalid_request_error" })
      const r = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(r.code, 1)
      assert.match(r.stderr, /5 identical non-retriable errors in a row/)
      await withDb(uri, db, async (d) => {
        assert.strictEqual(await d.collection("failed_analysis_records").countDocuments(), 4)
        const state = await d.collection("job_state").findOne({})
        assert.strictEqual(state?.last_processed_object_id, null)
        assert.strictEqual(state?.batch_mode.batches[0].status, "ended")
      })
    } finally {
      await server.close()
      await dropDb(uri, db)
    }
  })

  it("settings: batch mode with AI Core or the heuristic is a one-line settings error (exit 2)", async () => {
    const db = freshDbName()
    for (const llm of ["aicore", "heuristic"]) {
      const r = await runCli([...dbArgs(uri, db, tempDir("batch-logs", dir)), "--llm", llm, "--llm-mode", "batch", "--single-batch"], { env: anthropicEnv("http://127.0.0.1:9") })
      assert.strictEqual(r.code, 2)
      const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("error: "))
      assert.lengthOf(lines, 1)
      assert.match(lines[0]!, /llm\.mode: batch mode needs Claude direct/)
    }
  })
})
