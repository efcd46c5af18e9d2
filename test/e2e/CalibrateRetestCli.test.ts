import * as fs from "node:fs"
import * as path from "node:path"
import { ObjectId } from "mongodb"
import { afterAll, assert, describe, it } from "vitest"
import { RESULT_COLLECTION, SOURCE_COLLECTION } from "../../src/domain/Result.ts"
import { loadSourceFile } from "../../src/store/memory/Samples.ts"
import {
  anthropicEnv,
  dbArgs,
  dropDb,
  E2E_SETTINGS,
  e2eMongoUri,
  errorLines,
  freshDbName,
  REPO,
  reportValue,
  runCli,
  tempDir,
  withDb,
  writeConfig
} from "../support/e2e.ts"
import { LOOPBACK_MODEL, startLoopbackClaude, toolAnswer } from "../support/loopbackClaude.ts"
import { validInput } from "../support/claudeFixtures.ts"

const uri = e2eMongoUri("test/e2e/CalibrateRetestCli.test.ts")
const dir = tempDir("trust")
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const GRADES = path.join(REPO, "samples/grades.csv")
const memory = (...args: ReadonlyArray<string>) => [...args, "--mongo-uri", "memory", "--llm", "heuristic", "--log-dir", tempDir("logs", dir)]

/** Every figure of a calibrate JSON report except how the model was chosen (its timestamps differ by run). */
const figures = (json: any) => ({ ...json, model_choice: undefined })

const writeFile = (name: string, text: string): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

describe("cpa calibrate and cpa retest on the in-memory demo store", () => {
  it("calibrate compares the example grades with the heuristic's results of the samples", async () => {
    const r = await runCli(memory("calibrate", "--grades", GRADES))
    assert.strictEqual(r.code, 0, r.stderr)
    assert.include(r.stdout, "CALIBRATION: stored results against human grades")
    assert.include(r.stdout, "Model used: heuristic-1.0.0 (200 results")
    assert.strictEqual(reportValue(r.stdout, "Compared"), "25 conversations with a result of heuristic-1.0.0")
    assert.include(r.stdout, "both sides are rounded to the nearest whole point")
    assert.include(r.stdout, "1000 resamples, seed 1")
    assert.match(r.stdout, /^ {2}csat_resolution +1\.\.5 +25 +37 /m)
    assert.match(r.stdout, /^ {2}resolution_completeness +not enough data +\(12 conversations with 2\+ grades and a result; needs 30\)$/m)
    assert.include(r.stdout, "Rule: On the conversations graded by two or more graders")
    assert.include(r.stderr, "scored 200 sample conversations with heuristic first")

    const json = await runCli(memory("calibrate", "--grades", GRADES, "--format", "json"))
    assert.strictEqual(json.code, 0, json.stderr)
    const report = JSON.parse(json.stdout)
    assert.strictEqual(report.model_used, "heuristic-1.0.0")
    assert.strictEqual(report.compared, 25)
    assert.deepStrictEqual(report.grades.graders, ["maintainer-a", "maintainer-b"])
    const csat = report.kpis.find((k: any) => k.kpi === "csat_resolution")
    assert.strictEqual(csat.kappa_kind, "quadratic-weighted")
    assert.strictEqual(csat.model_vs_graders.pairs, 37)
    assert.strictEqual(csat.between_graders.conversations, 12)
    assert.lengthOf(csat.model_vs_graders.kappa.ci95, 2)
    assert.deepStrictEqual(figures(JSON.parse((await runCli(memory("calibrate", "--grades", GRADES, "--format", "json"))).stdout)), figures(report), "seeded: the same figures on every run")
  })

  it("lists graded ids that have no result, and reads JSON lines", async () => {
    const unknown = "0123456789abcdef01234567"
    const file = writeFile("grades.jsonl", [
      JSON.stringify({ source_object_id: "659fceeb661bfb9a0460b9c4", grader: "x", csat_resolution: 5 }),
      JSON.stringify({ source_object_id: unknown, grader: "x", csat_resolution: 2 })
    ].join("\n"))
    const r = await runCli(memory("calibrate", "--grades", file, "--format", "json"))
    assert.strictEqual(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.deepStrictEqual(report.missing, { count: 1, ids: [unknown], scored_by_another_model: [] })
    assert.strictEqual(report.compared, 1)
  })

  it.each([
    ["a missing file", () => path.join(dir, "nope.csv"), "no such file"],
    ["a malformed row", () => writeFile("bad-row.csv", "source_object_id,csat_resolution\n659fceeb661bfb9a0460b9c4,9\n"), "line 2: csat_resolution: 9 is outside its scale (1 to 5)"],
    ["an unknown KPI column", () => writeFile("bad-col.csv", "source_object_id,happiness\n659fceeb661bfb9a0460b9c4,3\n"), "line 1: unknown column \"happiness\""]
  ] as const)("calibrate with %s exits 2 with one line", async (_, file, message) => {
    const r = await runCli(memory("calibrate", "--grades", file()))
    assert.strictEqual(r.code, 2)
    assert.lengthOf(errorLines(r.stderr), 1)
    assert.include(errorLines(r.stderr)[0], message)
    assert.strictEqual(r.stdout, "")
  })

  it("an unknown --model-used exits 2 naming the models there are", async () => {
    const r = await runCli(memory("calibrate", "--grades", GRADES, "--model-used", "claude-opus-4-6"))
    assert.strictEqual(r.code, 2)
    assert.include(errorLines(r.stderr)[0], "--model-used: no results of \"claude-opus-4-6\"; the stored results are of heuristic-1.0.0 (200)")
  })

  it("retest re-scores a seeded sample: the heuristic is perfectly stable", async () => {
    const r = await runCli(memory("retest", "--sample", "12", "--seed", "5", "--format", "json"))
    assert.strictEqual(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.strictEqual(report.rescored, 12)
    assert.strictEqual(report.written, 0)
    assert.strictEqual(report.binary_flipped, 0)
    assert.isTrue(report.kpis.every((k: any) => k.mean_absolute_difference === 0 && k.n === 12))
    assert.isNull(report.estimated_cost_usd, "the heuristic costs nothing: no estimate, no --yes")
    const again = JSON.parse((await runCli(memory("retest", "--sample", "12", "--seed", "5", "--format", "json"))).stdout)
    assert.deepStrictEqual(again.sampled, report.sampled, "the same seed picks the same conversations")
    const text = await runCli(memory("retest", "--sample", "3"))
    assert.include(text.stdout, "Nothing was written to agentic_analysis.")
    assert.include(text.stdout, "Binary KPIs flipped: 0.0 % of 6 values")
  })

  it("retest with a paid model on the demo store is refused: it would score every sample first", async () => {
    const r = await runCli(["retest", "--sample", "3", "--mongo-uri", "memory", "--llm", "anthropic", "--log-dir", tempDir("logs", dir)], {
      env: anthropicEnv("http://127.0.0.1:9")
    })
    assert.strictEqual(r.code, 2)
    assert.include(errorLines(r.stderr)[0], "retest on the in-memory demo store scores every sample first, which needs --llm heuristic")
  })

  it("--sample must be at least 1", async () => {
    const r = await runCli(memory("retest", "--sample", "0"))
    assert.strictEqual(r.code, 2)
  })
})

/** Seeds a database with the sample conversations, as the upstream pipeline would. */
const seedSamples = async (dbName: string): Promise<number> => {
  const records = loadSourceFile(path.join(REPO, "samples/sentiment_analysis.json"))
  await withDb(uri, dbName, (db) => db.collection(SOURCE_COLLECTION).insertMany(records.map((r) => ({ ...(r.doc as object), _id: new ObjectId(r.id) }))))
  return records.length
}

const resultsSnapshot = (dbName: string) =>
  withDb(uri, dbName, (db) =>
    db.collection(RESULT_COLLECTION).find({}, { projection: { _id: 0 } }).sort({ source_object_id: 1 }).toArray())

describe.skipIf(uri === "")("cpa calibrate and cpa retest against the real MongoDB server", { concurrent: true }, () => {
  it("calibrate gives the same figures as on the demo store, and retest writes nothing", async () => {
    const db = freshDbName()
    const config = writeConfig(dir, E2E_SETTINGS, `heuristic-${db}.yaml`)
    const args = [...dbArgs(uri, db, tempDir("logs", dir)), "--config", config, "--llm", "heuristic"]
    try {
      const n = await seedSamples(db)
      const batch = await runCli([...args, "--single-batch", "--batch-size", String(n)])
      assert.strictEqual(batch.code, 0, batch.stderr)
      const stored = await resultsSnapshot(db)
      assert.strictEqual(stored.length, 200)
      assert.isTrue(stored.every((r) => r.analysis_metadata.analysis_version === "4.3.0" && r.analysis_rationale !== undefined))

      const r = await runCli([...args, "calibrate", "--grades", GRADES, "--format", "json"])
      assert.strictEqual(r.code, 0, r.stderr)
      const onMongo = JSON.parse(r.stdout)
      const onMemory = JSON.parse((await runCli(memory("calibrate", "--grades", GRADES, "--format", "json"))).stdout)
      assert.deepStrictEqual(figures(onMongo), figures(onMemory))

      const retest = await runCli([...args, "retest", "--sample", "20", "--format", "json"])
      assert.strictEqual(retest.code, 0, retest.stderr)
      assert.strictEqual(JSON.parse(retest.stdout).rescored, 20)
      assert.deepStrictEqual(await resultsSnapshot(db), stored, "retest wrote nothing")
    } finally {
      await dropDb(uri, db)
    }
  })

  it("retest with Claude: prices the run first, needs --yes above the threshold, and reports what moved", async () => {
    const fake = await startLoopbackClaude()
    const db = freshDbName()
    // Twice Sonnet 4.6's list prices: 20 conversations then cost more than the $0.25 threshold
    // (at list prices, with one cache write per run, they stay below it).
    const prices = { "claude-sonnet-4-6": { input: 6, output: 30, cache_write: 7.5, cache_read: 0.6 } }
    const config = writeConfig(dir, { ...E2E_SETTINGS, llm: { ...E2E_SETTINGS.llm, prices } }, `claude-${db}.yaml`)
    const args = [...dbArgs(uri, db, tempDir("logs", dir)), "--config", config, "--llm", "anthropic"]
    const env = anthropicEnv(fake.url)
    try {
      const records = loadSourceFile(path.join(REPO, "samples/sentiment_analysis.json")).slice(0, 30)
      await withDb(uri, db, (d) => d.collection(SOURCE_COLLECTION).insertMany(records.map((r) => ({ ...(r.doc as object), _id: new ObjectId(r.id) }))))
      const batch = await runCli([...args, "--single-batch", "--batch-size", "30"], { env })
      assert.strictEqual(batch.code, 0, batch.stderr)
      const stored = await resultsSnapshot(db)
      assert.isTrue(stored.every((r) => r.analysis_metadata.model_used === LOOPBACK_MODEL && r.analysis_metadata.evidence_dropped === 0))
      const sent = fake.total()

      const refused = await runCli([...args, "retest", "--sample", "20"], { env })
      assert.strictEqual(refused.code, 2)
      assert.match(refused.stderr, /retest: 20 request\(s\) to claude-sonnet-4-6 \(anthropic\), about [\d,]+ input and [\d,]+ output tokens \(estimated at 4 characters a token\): estimated cost \$0\.\d{4}/)
      assert.include(errorLines(refused.stderr)[0], "is above $0.25; add --yes to re-score 20 conversation(s) with claude-sonnet-4-6, or lower --sample")
      assert.strictEqual(fake.total(), sent, "nothing was sent")

      // The model now answers differently: unresolved, with follow-up, a lower CSAT.
      fake.setDefault("messages", toolAnswer({ ...validInput, resolution_completeness: 0, followup_necessity: 1, csat_resolution: 2 }, { model: LOOPBACK_MODEL }))
      const r = await runCli([...args, "retest", "--sample", "20", "--yes", "--format", "json"], { env })
      assert.strictEqual(r.code, 0, r.stderr)
      const report = JSON.parse(r.stdout)
      assert.strictEqual(fake.total(), sent + 20)
      assert.strictEqual(report.rescored, 20)
      assert.deepStrictEqual(report.analyzer_models, [LOOPBACK_MODEL])
      assert.strictEqual(report.binary_flipped, 1)
      const byKpi = Object.fromEntries(report.kpis.map((k: any) => [k.kpi, k]))
      assert.strictEqual(byKpi.resolution_completeness.flipped, 1)
      assert.strictEqual(byKpi.csat_resolution.mean_absolute_difference, 2.5)
      assert.strictEqual(byKpi.escalation_rate.mean_absolute_difference, 0)
      assert.isAbove(report.cost_usd, 0)
      assert.isAbove(report.estimated_cost_usd, 0.25)
      assert.deepStrictEqual(await resultsSnapshot(db), stored, "retest wrote nothing")

      const small = await runCli([...args, "retest", "--sample", "2"], { env })
      assert.strictEqual(small.code, 0, small.stderr)
      assert.include(small.stdout, "Sample: 2 of 2 requested, seed 1; scored again: 2")
    } finally {
      await fake.close()
      await dropDb(uri, db)
    }
  })
})

