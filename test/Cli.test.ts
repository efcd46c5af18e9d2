import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { normalizeArgv } from "../src/main.ts"
import { RULE } from "../src/programs/Reports.ts"
import { cleanEnv, runCli } from "./support/cli.ts"

const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-cli-"))
const memory = ["--mongo-uri", "memory", "--llm", "heuristic", "--log-dir", logDir]

/** The one line a bad-input run prints on stderr. */
const errorLine = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("error: "))

describe("CLI", () => {
  it.each([
    [["--batch-size", "0"], "--batch-size"],
    [["--interval=-1"], "--interval"],
    [["--interval", "soon"], "--interval"],
    [["--concurrency", "0"], "--concurrency"],
    [["--max-iterations", "0"], "--max-iterations"],
    [["--llm", "gpt-4"], "--llm"],
    [["--log-format", "xml"], "--log-format"],
    [["--config", "/nonexistent/cpa.yaml"], "--config"]
  ])("%j exits 2 with one line naming %s and writes nothing", async (args, setting) => {
    const base = args.includes("--llm") ? memory.filter((a) => a !== "--llm" && a !== "heuristic") : memory
    const r = await runCli([...base, "--single-batch", ...args])
    assert.strictEqual(r.code, 2, r.stderr)
    const lines = errorLine(r.stderr)
    assert.strictEqual(lines.length, 1, r.stderr)
    assert.include(lines[0], setting)
    assert.strictEqual(r.stdout, "")
  })

  it("an unreadable YAML file names the file", async () => {
    const bad = path.join(logDir, "bad.yaml")
    fs.writeFileSync(bad, "job: [1, 2\n")
    const r = await runCli([...memory, "--single-batch", "--config", bad])
    assert.strictEqual(r.code, 2)
    assert.include(errorLine(r.stderr)[0], "bad.yaml")
  })

  it("an unknown flag is a usage error (exit 2)", async () => {
    const r = await runCli([...memory, "--batchsize", "5"])
    assert.strictEqual(r.code, 2)
  })

  it.each([
    [["--bogus"], "--bogus"],
    [["--log-level", "LOUD"], "--log-level"],
    [["--interval"], "--interval"],
    [["dead-letter", "list"], "dead-letter"],
    [["dead-letters", "list", "--limit", "x"], "--limit"]
  ])("usage error %j: one line on stderr naming %s, a hint to --help, exit 2, stdout empty", async (args, culprit) => {
    const r = await runCli(args)
    assert.strictEqual(r.code, 2, r.stderr)
    assert.strictEqual(r.stdout, "")
    const lines = r.stderr.trimEnd().split("\n")
    assert.strictEqual(lines.length, 1, r.stderr)
    assert.include(lines[0], culprit)
    assert.include(lines[0], "--help")
  })

  it("an empty flag value is rejected, naming the flag", async () => {
    const r = await runCli(["--mongo-uri=", "--single-batch"])
    assert.strictEqual(r.code, 2)
    assert.deepStrictEqual(errorLine(r.stderr), ["error: --mongo-uri: expected a non-empty string, got \"\""])
    assert.strictEqual(r.stdout, "")
  })

  it("an unknown YAML key stops the run with one line naming the key and the file", async () => {
    const cfg = path.join(logDir, "typo.yaml")
    fs.writeFileSync(cfg, "job:\n  batchsize: 1\n")
    const r = await runCli([...memory, "--single-batch", "--config", cfg])
    assert.strictEqual(r.code, 2)
    assert.deepStrictEqual(errorLine(r.stderr), [`error: job.batchsize (YAML, ${cfg}): unknown key; did you mean job.batch_size?`])
  })

  it.each([
    [["--llm", "anthropic"], {}, "ANTHROPIC_API_KEY"],
    [[], { CPA_LLM: "anthropic" }, "ANTHROPIC_API_KEY"],
    [["--health-port", "0", "--health-host", "bogus.invalid"], {}, "bogus.invalid"],
    [["--mongo-uri", "http://example.com/"], {}, "--mongo-uri: expected a mongodb:// or mongodb+srv:// connection string"],
    [["--mongo-uri", "mongodb://u:p@"], {}, "--mongo-uri: the connection string names no host"]
  ] as const)("configuration that a restart cannot fix exits 2: %j %j", async (args, env, culprit) => {
    const given = args as ReadonlyArray<string>
    const base = [
      ...(given.includes("--mongo-uri") ? [] : ["--mongo-uri", "memory"]),
      "--log-dir",
      logDir,
      ...(given.includes("--llm") || "CPA_LLM" in env ? [] : ["--llm", "heuristic"])
    ]
    const r = await runCli([...base, "--single-batch", ...args], { env: cleanEnv(env) })
    assert.strictEqual(r.code, 2, r.stderr)
    assert.strictEqual(r.stdout, "")
    const lines = errorLine(r.stderr)
    assert.strictEqual(lines.length, 1, r.stderr)
    assert.include(lines[0], culprit)
    assert.notInclude(r.stderr, "u:p")
  })

  it("an unwritable log directory: one line, exit 2, before anything else", async () => {
    const file = path.join(logDir, "not-a-dir")
    fs.writeFileSync(file, "")
    const r = await runCli(["--mongo-uri", "memory", "--llm", "heuristic", "--single-batch", "--log-dir", file])
    assert.strictEqual(r.code, 2)
    assert.deepStrictEqual(errorLine(r.stderr), [`error: log directory ${file}: cannot write log files there (it is not a directory)`])
    assert.strictEqual(r.stdout, "")
  })

  it("the line that ends a run goes to the daily log file too", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-fatal-"))
    const r = await runCli(["--mongo-uri", "memory", "--llm", "anthropic", "--single-batch", "--log-dir", dir])
    assert.strictEqual(r.code, 2)
    const [file] = fs.readdirSync(dir)
    const logged = fs.readFileSync(path.join(dir, file!), "utf8")
    assert.match(logged, /level=FATAL .*ANTHROPIC_API_KEY is not set/)
    assert.strictEqual(r.stderr.split("\n").filter((l) => l.includes("ANTHROPIC_API_KEY is not set")).length, 1, "stderr has the one error line, not a log line too")
  })

  it("with no provider credentials and no --llm, names both and --llm heuristic", async () => {
    const r = await runCli(["--mongo-uri", "memory", "--single-batch", "--log-dir", logDir])
    assert.strictEqual(r.code, 2, r.stderr)
    const line = errorLine(r.stderr)[0]!
    assert.include(line, "ANTHROPIC_API_KEY")
    assert.include(line.toLowerCase(), "ai core")
    assert.include(line, "--llm heuristic")
  })

  it("--help lists the specification's options", async () => {
    const r = await runCli(["--help"])
    assert.strictEqual(r.code, 0)
    for (const flag of ["--mongo-uri", "--db-name", "--interval", "--batch-size", "--max-iterations", "--single-batch", "--reset-state", "--stats-only", "--log-level", "--concurrency", "--llm", "--config"]) {
      assert.include(r.stdout, flag)
    }
  })

  it("--single-batch prints the BATCH RESULTS block; --log-level takes DEBUG in capitals", async () => {
    const r = await runCli([...memory, "--single-batch", "--batch-size", "20", "--log-level", "DEBUG"])
    assert.strictEqual(r.code, 0, r.stderr)
    const lines = r.stdout.split("\n")
    assert.deepStrictEqual(lines.slice(0, 3), [RULE, "BATCH RESULTS", RULE])
    assert.strictEqual(lines[3], "Records Processed: 20")
    assert.match(lines[7]!, /^Duration: \d+\.\d\d seconds$/)
    assert.match(lines[8]!, /^Last Processed ID: [0-9a-f]{24}$/)
    assert.include(r.stderr, "level=DEBUG")
    // Debug traces every record: decode, each attempt with its latency, the store, the checkpoint.
    const debug = r.stderr.split("\n").filter((l) => l.includes("level=DEBUG"))
    const perRecord = (what: RegExp) => new Set(debug.filter((l) => what.test(l)).map((l) => /record=([0-9a-f]{24})/.exec(l)?.[1]))
    assert.strictEqual(perRecord(/message="decoded: \d+ message\(s\)"/).size, 20)
    assert.strictEqual(perRecord(/message="attempt 1: ok in \d+ ms, model heuristic-/).size, 20)
    assert.isAbove(debug.filter((l) => /checkpoint saved: [0-9a-f]{24}/.test(l)).length, 0)
    const files = fs.readdirSync(logDir).filter((f) => /^periodic_job_\d{8}\.log$/.test(f))
    assert.strictEqual(files.length, 1)
  })

  it("--stats-only prints JOB STATISTICS", async () => {
    const r = await runCli([...memory, "--stats-only"])
    assert.strictEqual(r.code, 0, r.stderr)
    assert.include(r.stdout, `${RULE}\nJOB STATISTICS\n${RULE}\nJob Status: never run`)
    assert.include(r.stdout, "Agentic Analysis Records: 0")
  })

  it("normalizes --log-level values to lower case", () => {
    assert.deepStrictEqual(normalizeArgv(["--log-level", "WARNING", "--db-name", "X"]), ["--log-level", "warning", "--db-name", "X"])
    assert.deepStrictEqual(normalizeArgv(["--log-level=ERROR"]), ["--log-level=error"])
  })
})

describe("CLI with the in-memory store", () => {
  it("a missing samples file is a setting error naming demo.samples (exit 2)", async () => {
    const cfg = path.join(logDir, "bad-samples.yaml")
    fs.writeFileSync(cfg, "demo:\n  samples: /nonexistent/samples.json\n")
    const r = await runCli([...memory, "--single-batch", "--config", cfg])
    assert.strictEqual(r.code, 2, r.stderr)
    assert.include(errorLine(r.stderr)[0], "demo.samples")
    assert.strictEqual(r.stdout, "")
  })
})
