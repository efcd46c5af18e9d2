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
      await seedSources(uri, db, 8)
      server.batches.cutResultsAfter = 3
      const first = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(first.code, 1)
      server.batches.cutResultsAfter = undefined
      const second = await runCli(args(db, "--single-batch"), { env: anthropicEnv(server.url) })
      assert.strictEqual(second.code, 0, second.stderr)
      assert.strictEqual(reportValue(second.stdout, "Records Persisted"), "8")
      assert.strictEqual(server.batches.all.length, 1)
      await assertInvariant(db, 8)
      assertSubmittedOnce(server)
    } finally {
      await server.close()
      await dropDb(uri, db)
    }
  })

  for (const point of ["after-intent", "after-create"] as const) {
    it(`SIGKILL ${point === "after-intent" ? "after the intent is saved, before the batch is created" : "after the batch is created, before its id is saved"}: nothing paid twice, nothing lost`, async () => {
      const server = await startLoopbackClaude()
      const db = freshDbName()
      try {
        await seedSources(uri, db, 6)
        const killed = await runCliChild(args(db, "--single-batch"), { env: anthropicEnv(server.url, { CPA_TEST_CRASH_AT: point }), timeoutMs: 60_000 })
        assert.notStrictEqual(killed.code, 0)
        assert.strictEqual(server.batches.all.length, point === "after-intent" ? 0 : 1)
        const next = await runCliChild(args(db, "--single-batch"), { env: anthropicEnv(server.url), timeoutMs: 60_000 })
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
})
