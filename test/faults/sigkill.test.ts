import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { RESULT_COLLECTION } from "../../src/domain/Result.ts"
import {
  anthropicEnv,
  connect,
  dbArgs,
  drain,
  dropDb,
  E2E_SETTINGS,
  e2eMongoUri,
  freshDbName,
  seedSources,
  sleep,
  startCli,
  tempDir,
  writeConfig
} from "../support/e2e.ts"
import { prng } from "../support/fixtures.ts"
import { checkInvariant, type InvariantReport } from "../support/invariant.ts"
import { type LoopbackClaude, startLoopbackClaude } from "../support/loopbackClaude.ts"

/**
 * The job process dies with SIGKILL (no handler, no finalizer) at a point drawn from a seeded
 * PRNG, between the batch's first log line and the expected end of the batch. Whatever was
 * written is consistent, and re-runs finish the rest with every record exactly once.
 */

const TOTAL = 40
const MALFORMED = 4
const DELAY_MS = 150
const CONCURRENCY = 4
/** How long the batch itself should take: rounds of CONCURRENCY answers of DELAY_MS each. */
const BATCH_MS = Math.ceil((TOTAL - MALFORMED) / CONCURRENCY) * DELAY_MS
const SEEDS = [11, 23, 37, 41]


const consistent = (r: InvariantReport, when: string) =>
  assert.deepStrictEqual({ lost: r.lost, duplicated: r.duplicated, both: r.both }, { lost: [], duplicated: [], both: [] }, when)

const uri = e2eMongoUri("test/faults/sigkill.test.ts")

// Each seed has its own database: they run at the same time.
describe.skipIf(uri === "")("the job killed with SIGKILL at random points", { concurrent: true }, () => {
  let slow: LoopbackClaude
  const dir = tempDir("sigkill")
  // Short lease: the killed process never releases its lease, and the re-run waits for it to expire.
  const config = writeConfig(dir, { ...E2E_SETTINGS, job: { concurrency: CONCURRENCY }, lease: { ttl_seconds: 3 } })
  const landed: Array<string> = []

  beforeAll(async () => {
    slow = await startLoopbackClaude({ delayMs: DELAY_MS })
  })
  afterAll(async () => {
    await slow?.close()
    fs.rmSync(dir, { recursive: true, force: true })
    if (landed.length > 0) process.stderr.write(`sigkill: ${landed.join("; ")}\n`)
  })

  it.each(SEEDS)("seed %i: consistent after the kill, drained by re-runs, every record exactly once", async (seed) => {
    const rand = prng(seed)
    const dbName = freshDbName()
    try {
      const seeded = await seedSources(uri, dbName, TOTAL, MALFORMED)
      const args = [...dbArgs(uri, dbName, path.join(dir, "logs")), "--config", config, "--llm", "anthropic", "--batch-size", "100"]
      const env = anthropicEnv(slow.url)

      const child = startCli([...args, "--single-batch"], { env, timeoutMs: 60_000 })
      // Anchored at the batch's first log line: start-up alone takes 2-4 s on a loaded machine.
      await child.waitFor(/message="batch 1: reading/, 30_000)
      const killAfterMs = 100 + Math.floor(rand() * (BATCH_MS - 200))
      await sleep(killAfterMs)
      child.signal("SIGKILL")
      const killed = await child.exited
      assert.strictEqual(killed.signal, "SIGKILL", `the job had already ended (code ${killed.code}); stderr:\n${killed.stderr}`)

      const afterKill = await checkInvariant(uri, dbName)
      consistent(afterKill, "after the kill")
      landed.push(`seed ${seed} killed ${killAfterMs} ms into the batch with ${afterKill.results} results, ${afterKill.openDeadLetters} dead letters`)

      const runs = await drain(args, { env, timeoutMs: 60_000, maxRuns: 4 })
      const drained = await checkInvariant(uri, dbName)
      consistent(drained, `after re-runs ${runs.join(", ")}`)
      assert.deepStrictEqual(
        { checkpoint: drained.checkpoint, results: drained.results, openDeadLetters: drained.openDeadLetters },
        { checkpoint: seeded.ids[TOTAL - 1]!, results: TOTAL - MALFORMED, openDeadLetters: MALFORMED }
      )
      const client = await connect(uri)
      try {
        const ids = await client.db(dbName).collection(RESULT_COLLECTION).distinct("source_object_id")
        assert.deepStrictEqual([...ids].sort(), [...seeded.validIds].sort(), "a result for every valid record, none for another")
      } finally {
        await client.close()
      }

      for (const id of seeded.validIds) {
        const n = slow.counts.get(id) ?? 0
        assert.isAtLeast(n, 1, `${id} never analyzed`)
        if (afterKill.checkpoint !== null && id <= afterKill.checkpoint) assert.strictEqual(n, 1, `${id} was before the checkpoint yet analyzed again`)
      }
    } finally {
      await dropDb(uri, dbName).catch(() => undefined)
    }
  }, 90_000)
})
