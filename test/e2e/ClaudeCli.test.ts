import * as fs from "node:fs"
import { afterAll, assert, describe, it } from "vitest"
import { DEAD_LETTER_COLLECTION, RESULT_COLLECTION } from "../../src/domain/Result.ts"
import {
  anthropicEnv,
  dbArgs,
  dbView,
  dropDb,
  E2E_SETTINGS,
  e2eMongoUri,
  errorLines,
  freshDbName,
  reportValue,
  runCli,
  seedSources,
  tempDir,
  withDb,
  writeConfig
} from "../support/e2e.ts"
import { checkInvariant } from "../support/invariant.ts"
import { LOOPBACK_MODEL, startLoopbackClaude, USAGE } from "../support/loopbackClaude.ts"

const uri = e2eMongoUri("test/e2e/ClaudeCli.test.ts")
const dir = tempDir("claude")
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** USD per million tokens, given to the run in its YAML so the expected cost follows from it. */
const PRICE = { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }
const COST_PER_REQUEST = (USAGE.input_tokens * PRICE.input + USAGE.output_tokens * PRICE.output +
  USAGE.cache_creation_input_tokens * PRICE.cache_write + USAGE.cache_read_input_tokens * PRICE.cache_read) / 1_000_000

const config = writeConfig(dir, { ...E2E_SETTINGS, llm: { ...E2E_SETTINGS.llm, prices: { "claude-sonnet-4-6": PRICE } } })

describe.skipIf(uri === "")("--llm anthropic against a loopback Messages API and the real MongoDB server", { concurrent: true }, () => {
  it("stores token usage and cost with each result and reports them in BATCH RESULTS", async () => {
    const slow = await startLoopbackClaude()
    const db = freshDbName()
    try {
      const seeded = await seedSources(uri, db, 12)
      const r = await runCli(
        [...dbArgs(uri, db, tempDir("claude-logs", dir)), "--config", config, "--llm", "anthropic", "--single-batch", "--batch-size", "50"],
        { env: anthropicEnv(slow.url) }
      )
      assert.strictEqual(r.code, 0, r.stderr)
      const n = seeded.ids.length
      const thousands = (x: number) => x.toLocaleString("en-US")
      assert.strictEqual(reportValue(r.stdout, "Records Processed"), String(n))
      assert.strictEqual(reportValue(r.stdout, "Records Persisted"), String(n))
      assert.strictEqual(reportValue(r.stdout, "Input Tokens"), thousands(n * USAGE.input_tokens))
      assert.strictEqual(reportValue(r.stdout, "Output Tokens"), thousands(n * USAGE.output_tokens))
      assert.strictEqual(reportValue(r.stdout, "Cache Write Tokens"), thousands(n * USAGE.cache_creation_input_tokens))
      assert.strictEqual(reportValue(r.stdout, "Cache Read Tokens"), thousands(n * USAGE.cache_read_input_tokens))
      assert.strictEqual(reportValue(r.stdout, "Estimated Cost"), `$${(n * COST_PER_REQUEST).toFixed(4)}`)

      // one request per record, with the key from the environment (which no output repeats)
      assert.deepStrictEqual([...slow.counts.keys()].sort(), [...seeded.ids].sort())
      assert.isTrue([...slow.counts.values()].every((c) => c === 1))
      assert.deepStrictEqual([...slow.keys], ["test-key"])
      assert.notInclude(r.stderr + r.stdout, "test-key")

      const results = await withDb(uri, db, (d) => d.collection(RESULT_COLLECTION).find().toArray())
      assert.strictEqual(results.length, n)
      for (const doc of results) {
        const meta = doc.analysis_metadata
        assert.strictEqual(meta.model_used, LOOPBACK_MODEL)
        assert.deepStrictEqual(meta.usage, USAGE)
        assert.closeTo(meta.estimated_cost_usd, COST_PER_REQUEST, 1e-12)
      }
      const report = await checkInvariant(uri, db)
      assert.deepStrictEqual([report.lost, report.duplicated, report.both], [[], [], []])
      assert.strictEqual(report.checkpoint, seeded.ids.at(-1))
    } finally {
      await slow.close()
      await dropDb(uri, db)
    }
  }, 60_000)

  it("a 401 stops the run: exit 1, one error line, no dead letters, checkpoint not past the first record", async () => {
    const slow = await startLoopbackClaude({ defaultStatus: 401 })
    const db = freshDbName()
    try {
      await seedSources(uri, db, 10)
      const r = await runCli(
        [...dbArgs(uri, db, tempDir("claude401-logs", dir)), "--config", config, "--llm", "anthropic", "--single-batch"],
        { env: anthropicEnv(slow.url) }
      )
      assert.strictEqual(r.code, 1, r.stderr)
      const lines = errorLines(r.stderr)
      assert.strictEqual(lines.length, 1, r.stderr)
      assert.include(lines[0], "401")
      assert.notMatch(r.stderr, /^\s+at /m, "no stack trace")
      assert.notInclude(r.stderr + r.stdout, "test-key")
      assert.isAbove(slow.total(), 0)

      const view = await dbView(uri, db)
      assert.strictEqual(view.results, 0)
      assert.strictEqual(await withDb(uri, db, (d) => d.collection(DEAD_LETTER_COLLECTION).countDocuments()), 0)
      assert.strictEqual(view.state?.last_processed_object_id ?? null, null)
      assert.strictEqual(view.state?.status, "failed")
      const report = await checkInvariant(uri, db)
      assert.deepStrictEqual([report.lost, report.duplicated, report.both], [[], [], []])
    } finally {
      await slow.close()
      await dropDb(uri, db)
    }
  }, 60_000)

  it("an unknown model at start-up: exit 2, one line naming it, nothing sent, nothing dead-lettered", async () => {
    const fake = await startLoopbackClaude()
    fake.unknownModels.add("claude-sonnet-9-9")
    const db = freshDbName()
    try {
      await seedSources(uri, db, 5)
      const r = await runCli(
        [...dbArgs(uri, db, tempDir("claude404-logs", dir)), "--config", config, "--llm", "anthropic", "--model", "claude-sonnet-9-9", "--single-batch"],
        { env: anthropicEnv(fake.url) }
      )
      assert.strictEqual(r.code, 2, r.stderr)
      const lines = errorLines(r.stderr)
      assert.strictEqual(lines.length, 1, r.stderr)
      assert.include(lines[0], "unknown model claude-sonnet-9-9")
      assert.strictEqual(fake.total(), 0)
      assert.strictEqual(await withDb(uri, db, (d) => d.collection(DEAD_LETTER_COLLECTION).countDocuments()), 0)
    } finally {
      await fake.close()
      await dropDb(uri, db)
    }
  }, 60_000)

  it("a model missing from llm.prices: one warning at start-up, estimated_cost_usd null in its results", async () => {
    const fake = await startLoopbackClaude({ model: "claude-unpriced-1" })
    const db = freshDbName()
    try {
      await seedSources(uri, db, 3)
      const r = await runCli(
        [...dbArgs(uri, db, tempDir("claude-unpriced-logs", dir)), "--config", config, "--llm", "anthropic", "--model", "claude-unpriced-1", "--single-batch"],
        { env: anthropicEnv(fake.url) }
      )
      assert.strictEqual(r.code, 0, r.stderr)
      assert.strictEqual((r.stderr.match(/claude-unpriced-1 has no price in llm.prices/g) ?? []).length, 1, r.stderr)
      const results = await withDb(uri, db, (d) => d.collection(RESULT_COLLECTION).find().toArray())
      assert.strictEqual(results.length, 3)
      for (const doc of results) assert.isNull((doc as any).analysis_metadata.estimated_cost_usd)
    } finally {
      await fake.close()
      await dropDb(uri, db)
    }
  }, 60_000)
})
