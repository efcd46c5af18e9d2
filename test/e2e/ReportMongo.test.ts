import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Layer } from "effect"
import { ObjectId } from "mongodb"
import { afterAll, assert, describe, it } from "vitest"
import { foldDeadLetter } from "../../src/domain/DeadLetter.ts"
import { DEAD_LETTER_COLLECTION, RESULT_COLLECTION, SOURCE_COLLECTION } from "../../src/domain/Result.ts"
import { buildReport, DEFAULT_REPORT_OPTIONS } from "../../src/programs/Report.ts"
import { formatReportJson } from "../../src/programs/ReportJson.ts"
import { makeMemoryConversationStore } from "../../src/store/memory/MemoryConversationStore.ts"
import { memoryWorld, testSettings } from "../support/fixtures.ts"
import { deadLetter, resultOf, sourceOf, twoWeeks, unanalyzed } from "../support/reportFixtures.ts"
import { cleanEnv, dbArgs, dropDb, e2eMongoUri, freshDbName, runCli, tempDir, withDb } from "../support/e2e.ts"

/**
 * `cpa report` against the real test server: the same fixture in MongoDB and in the in-memory
 * store must give the same report, and the MongoDB side is read through the projected cursor.
 */
const uri = e2eMongoUri("ReportMongo.test.ts")
const dbs: Array<string> = []
afterAll(async () => {
  for (const db of dbs) await dropDb(uri, db).catch(() => undefined)
})

const convs = twoWeeks()
const failures = [deadLetter(1, "AnalyzerError", "2024-03-10T10:00:00Z"), deadLetter(2, "InvalidSourceDocument", "2024-03-08T10:00:00Z")]
const window = ["--since", "2024-03-04", "--until", "2024-03-18"]

/** The fixture written with the driver, as the job (and, for old results, an older job) left it. */
const seed = async (dbName: string) => {
  const results = await Effect.runPromise(Effect.forEach(convs, resultOf))
  await withDb(uri, dbName, async (db) => {
    await db.collection(SOURCE_COLLECTION).insertMany([...convs, unanalyzed].map(sourceOf).map((r) => ({ _id: new ObjectId(r.id), ...(r.doc as object) })))
    await db.collection(RESULT_COLLECTION).insertMany(results.map((r) => ({ ...r })))
    await db.collection(DEAD_LETTER_COLLECTION).insertMany(failures.map((f) => foldDeadLetter(undefined, f)))
  })
}

/** The same fixture's report from the in-memory store. */
const memoryReport = (dimension: "agent" | "model") =>
  Effect.runPromise(Effect.gen(function*() {
    const w = memoryWorld([...convs, unanalyzed].map(sourceOf))
    const store = makeMemoryConversationStore(w.store)
    for (const c of convs) yield* store.upsertResult(yield* resultOf(c))
    for (const f of failures) yield* store.upsertDeadLetter(f)
    return yield* buildReport({
      ...DEFAULT_REPORT_OPTIONS,
      dimension,
      since: new Date("2024-03-04T00:00:00Z"),
      until: new Date("2024-03-18T00:00:00Z")
    }).pipe(Effect.provide(Layer.merge(w.layer, testSettings())))
  }))

const withoutTime = (json: string) => {
  const { generated_at: _, ...rest } = JSON.parse(json) as Record<string, unknown>
  return rest
}

describe.skipIf(uri === "")("cpa report on MongoDB", () => {
  it("gives the in-memory store's report of the same data, by agent (old results' handles from their sources) and by model", async () => {
    const dbName = freshDbName()
    dbs.push(dbName)
    await seed(dbName)
    const logDir = tempDir("report")
    for (const dimension of ["agent", "model"] as const) {
      const r = await runCli(["report", ...dbArgs(uri, dbName, logDir), ...window, "--by", dimension, "--format", "json"], { env: cleanEnv() })
      assert.strictEqual(r.code, 0, r.stderr)
      const expected = withoutTime(formatReportJson(await memoryReport(dimension)))
      assert.deepStrictEqual(withoutTime(r.stdout), expected, dimension)
    }
    const json = JSON.parse((await runCli(["report", ...dbArgs(uri, dbName, logDir), ...window, "--format", "json"])).stdout)
    assert.strictEqual(json.coverage.agent_handles_from_sources, 2)
    assert.deepStrictEqual(json.breakdown.groups.map((g: { group: string }) => g.group).sort(), ["BrandA", "BrandB", "BrandC"])
  })

  it("writes the HTML and CSV reports to files, and the default window finds the data", async () => {
    const dbName = freshDbName()
    dbs.push(dbName)
    await seed(dbName)
    const logDir = tempDir("report")
    const html = path.join(logDir, "report.html")
    const r = await runCli(["report", ...dbArgs(uri, dbName, logDir), "--format", "html", "--out", html])
    assert.strictEqual(r.code, 0, r.stderr)
    const page = fs.readFileSync(html, "utf8")
    assert.include(page, "2024-01-01</strong> to <strong>2024-03-25")
    assert.strictEqual((page.match(/<figure class="chart"/g) ?? []).length, 1 + 3 + 14 + 4)
    const csv = await runCli(["report", ...dbArgs(uri, dbName, logDir), ...window, "--period", "day", "--format", "csv"])
    assert.strictEqual(csv.code, 0, csv.stderr)
    assert.isAbove(csv.stdout.split("\r\n").length, 14 * 10)
  })

  it("after a real run of the job: results carry agent_ids and the report groups by them", async () => {
    const dbName = freshDbName()
    dbs.push(dbName)
    const { seedSources } = await import("../support/e2e.ts")
    await seedSources(uri, dbName, 60)
    const logDir = tempDir("report")
    const run = await runCli([...dbArgs(uri, dbName, logDir), "--llm", "heuristic", "--single-batch", "--batch-size", "100"])
    assert.strictEqual(run.code, 0, run.stderr)
    const stored = await withDb(uri, dbName, (db) => db.collection(RESULT_COLLECTION).find({}, { projection: { "conversation_summary.agent_ids": 1, "analysis_metadata.analysis_version": 1 } }).toArray())
    assert.isTrue(stored.every((d) => Array.isArray(d.conversation_summary.agent_ids) && d.analysis_metadata.analysis_version === "4.3.0"))
    const r = await runCli(["report", ...dbArgs(uri, dbName, logDir), "--since", "2024-01-01", "--until", "2025-01-01", "--period", "month", "--format", "json"])
    assert.strictEqual(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.strictEqual(report.coverage.analyzed, stored.length)
    assert.strictEqual(report.coverage.agent_handles_from_sources, 0)
    assert.isAbove(report.breakdown.groups.length, 3)
    assert.notInclude(report.breakdown.groups.map((g: { group: string }) => g.group), "(none)")
  })
})
