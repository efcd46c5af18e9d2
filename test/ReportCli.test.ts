import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { runCli } from "./support/cli.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-report-cli-"))
/** A log directory that must not exist after a refused run: nothing written. */
const freshLogDir = () => path.join(dir, `logs-${Math.random().toString(36).slice(2)}`)
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("error: "))

describe("cpa report on the command line", () => {
  it.each([
    [["--by", "team"], "--by"],
    [["--format", "xml"], "--format"],
    [["--period", "year"], "--period"],
    [["--since", "2024-02-30"], "--since"],
    [["--until", "next week"], "--until"],
    [["--since", "2024-05-01", "--until", "2024-04-01"], "--since"],
    [["--top", "-3"], "--top"],
    [["--out", path.join(dir, "no-such-dir", "r.html")], "--out"],
    [["--out", dir], "--out"]
  ])("%j: one line naming %s, exit 2, nothing written", async (args, culprit) => {
    const logDir = freshLogDir()
    const r = await runCli(["report", "--mongo-uri", "memory", "--log-dir", logDir, ...args])
    assert.strictEqual(r.code, 2, r.stderr)
    assert.strictEqual(r.stdout, "")
    const lines = r.stderr.trimEnd().split("\n")
    assert.strictEqual(lines.length, 1, r.stderr)
    assert.include(lines[0], culprit)
    assert.isFalse(fs.existsSync(logDir), "no log directory created")
    assert.isFalse(fs.existsSync(path.join(dir, "no-such-dir")))
  })

  it("an unknown flag or a non-number --top is a usage error naming it (exit 2)", async () => {
    for (const args of [["--top", "x"], ["--dimension", "agent"]]) {
      const r = await runCli(["report", ...args])
      assert.strictEqual(r.code, 2, r.stderr)
      assert.strictEqual(r.stdout, "")
      assert.include(r.stderr, args[0]!)
    }
  })

  it("--help lists the report's flags and the shared ones", async () => {
    const r = await runCli(["report", "--help"])
    assert.strictEqual(r.code, 0)
    for (const flag of ["--since", "--until", "--period", "--by", "--model-used", "--format", "--out", "--top", "--mongo-uri", "--db-name"]) {
      assert.include(r.stdout, flag)
    }
    const top = await runCli(["--help"])
    assert.include(top.stdout, "report")
    assert.include(top.stdout, "--report-out")
  })

  it("with no results yet: the report says so, exit 0; JSON and CSV too", async () => {
    const text = await runCli(["report", "--mongo-uri", "memory", "--log-dir", freshLogDir()])
    assert.strictEqual(text.code, 0, text.stderr)
    assert.include(text.stdout, "PERFORMANCE REPORT")
    assert.include(text.stdout, "Model: none")
    // the samples' sources are there, not analyzed: the backlog says how many
    assert.match(text.stdout, /Backlog \(not analyzed yet\): +208/)
    const json = await runCli(["report", "--mongo-uri", "memory", "--log-dir", freshLogDir(), "--format", "json"])
    assert.strictEqual(json.code, 0, json.stderr)
    assert.strictEqual(JSON.parse(json.stdout).coverage.backlog, 208)
    const csv = await runCli(["report", "--mongo-uri", "memory", "--log-dir", freshLogDir(), "--format", "csv"])
    assert.strictEqual(csv.stdout.trim(), "period,period_start,period_end,dimension,group,model_used,category,kpi,n,mean,std_error")
  })

  it("--out writes the report to the file, whole, and nothing to stdout", async () => {
    const out = path.join(dir, "report.json")
    const r = await runCli(["report", "--mongo-uri", "memory", "--log-dir", freshLogDir(), "--format", "json", "--out", out])
    assert.strictEqual(r.code, 0, r.stderr)
    assert.strictEqual(r.stdout, "")
    assert.strictEqual(JSON.parse(fs.readFileSync(out, "utf8")).report_version, 1)
    assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")), [])
  })
})

describe("the demo's ending: --report-out", () => {
  it("after the run: the report's summary on stdout and the HTML page in the file it names", async () => {
    const out = path.join(dir, "demo", "report.html")
    fs.mkdirSync(path.dirname(out))
    const r = await runCli(["--mongo-uri", "memory", "--llm", "heuristic", "--single-batch", "--batch-size", "500", "--log-dir", freshLogDir(), "--report-out", out])
    assert.strictEqual(r.code, 0, r.stderr)
    const tail = r.stdout.slice(r.stdout.indexOf("PERFORMANCE REPORT"))
    assert.include(r.stdout, "JOB STATISTICS")
    assert.isAbove(r.stdout.indexOf("PERFORMANCE REPORT"), r.stdout.indexOf("JOB STATISTICS"))
    assert.include(tail, "Model: heuristic-1.0.0")
    assert.match(tail, /Analyzed by the report's model: +\d+/)
    assert.include(tail, "csat_resolution")
    assert.match(r.stdout.trimEnd().split("\n").at(-1)!, new RegExp(`^HTML report .*: ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`))
    const html = fs.readFileSync(out, "utf8")
    assert.match(html, /^<!doctype html>/)
    assert.include(html, "<svg")
    assert.notInclude(html, "<script")
  }, 60_000)

  it("an unwritable --report-out stops before the run: exit 2, nothing analyzed", async () => {
    const r = await runCli(["--mongo-uri", "memory", "--llm", "heuristic", "--single-batch", "--log-dir", freshLogDir(), "--report-out", path.join(dir, "nope", "r.html")])
    assert.strictEqual(r.code, 2, r.stderr)
    assert.strictEqual(r.stdout, "")
    assert.deepStrictEqual(errorLines(r.stderr).length, 1)
    assert.include(errorLines(r.stderr)[0], "--report-out")
  })
})
