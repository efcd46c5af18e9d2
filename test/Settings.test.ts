import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Redacted } from "effect"
import { assert, describe, it } from "vitest"
import { ConfigError } from "../src/domain/Errors.ts"
import { resolveSettings } from "../src/config/resolveSettings.ts"
import { REPO_ROOT } from "./support/fixtures.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-settings-"))
const yamlFile = (name: string, text: string) => {
  const file = path.join(tmp, name)
  fs.writeFileSync(file, text)
  return file
}

const configError = (f: () => unknown): ConfigError => {
  try {
    f()
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
  throw new Error("expected a ConfigError")
}

describe("resolveSettings", () => {
  it("defaults are the specification's", () => {
    const s = resolveSettings({ config: yamlFile("empty.yaml", "") }, {})
    assert.strictEqual(Redacted.value(s.mongoUri), "mongodb://localhost:27017/")
    assert.strictEqual(s.dbName, "csai")
    assert.strictEqual(s.interval, 5)
    assert.strictEqual(s.batchSize, 50)
    assert.isUndefined(s.maxIterations)
    assert.strictEqual(s.concurrency, 8)
    assert.strictEqual(s.retry.baseDelayMs, 5000)
    assert.strictEqual(s.retry.maxRetries, 3)
    assert.strictEqual(s.jobName, "conversation_performance_analysis")
  })

  it("the bundled YAML holds the same defaults", () => {
    const s = resolveSettings({}, {}, REPO_ROOT)
    const d = resolveSettings({ config: yamlFile("empty2.yaml", "") }, {})
    assert.strictEqual(Redacted.value(s.mongoUri), Redacted.value(d.mongoUri))
    for (const k of ["dbName", "interval", "batchSize", "maxIterations", "concurrency", "jobName", "logFormat", "logDir", "samplesPath"] as const) {
      assert.deepStrictEqual(s[k], d[k], k)
    }
    assert.deepStrictEqual(s.retry, d.retry)
    assert.isAbove(Object.keys(s.llmOptions.prices).length, 0)
  })

  it("precedence is flag > environment > YAML > default", () => {
    const file = yamlFile("p.yaml", "job:\n  batch_size: 20\n  concurrency: 3\n  interval_minutes: 2\nmongodb:\n  db_name: fromyaml\n")
    const s = resolveSettings({ config: file, batchSize: 7 }, { CPA_BATCH_SIZE: "9", CPA_CONCURRENCY: "4" })
    assert.strictEqual(s.batchSize, 7)
    assert.strictEqual(s.concurrency, 4)
    assert.strictEqual(s.interval, 2)
    assert.strictEqual(s.dbName, "fromyaml")
    const e = resolveSettings({ config: file }, { MONGODB_CONNECTION_STRING: "mongodb://u:p@h/" })
    assert.strictEqual(Redacted.value(e.mongoUri), "mongodb://u:p@h/")
    assert.notInclude(String(e.mongoUri), "p@h")
  })

  it.each([
    [{ batchSize: "0" }, {}, "--batch-size"],
    [{ interval: "-1" }, {}, "--interval"],
    [{ interval: "0" }, {}, "--interval"],
    [{ concurrency: "abc" }, {}, "--concurrency"],
    [{ llm: "gpt" }, {}, "--llm"],
    [{ maxIterations: "1.5" }, {}, "--max-iterations"],
    [{}, { CPA_BATCH_SIZE: "lots" }, "CPA_BATCH_SIZE (environment)"],
    [{}, { CPA_LLM: "openai" }, "CPA_LLM (environment)"]
  ] as const)("rejects %o %o naming %s", (flags, env, setting) => {
    const err = configError(() => resolveSettings({ config: yamlFile("e.yaml", ""), ...flags } as never, env))
    assert.strictEqual(err.setting, setting)
    assert.include(err.message, setting)
    assert.notInclude(err.message, "\n")
  })

  it("names a bad YAML key and an unreadable or invalid YAML file", () => {
    assert.strictEqual(configError(() => resolveSettings({ config: yamlFile("b.yaml", "job:\n  batch_size: -5\n") }, {})).setting, "job.batch_size (YAML)")
    assert.include(configError(() => resolveSettings({ config: yamlFile("c.yaml", "job: [1, 2\n") }, {})).message, "not valid YAML")
    const missing = configError(() => resolveSettings({ config: path.join(tmp, "nope.yaml") }, {}))
    assert.strictEqual(missing.setting, "--config")
    assert.include(missing.message, "nope.yaml")
  })

  it("a missing default config file is not an error", () => {
    const s = resolveSettings({}, {}, tmp)
    assert.strictEqual(s.batchSize, 50)
  })
})
