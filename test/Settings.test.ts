import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Redacted, Result } from "effect"
import { assert, describe, it } from "vitest"
import { ConfigError } from "../src/domain/Errors.ts"
import { resolveSettings } from "../src/config/resolveSettings.ts"
import { type Setting, SETTINGS, settingsMarkdown } from "../src/config/SettingsTable.ts"
import { REPO_ROOT } from "./support/fixtures.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-settings-"))
const yamlFile = (name: string, text: string) => {
  const file = path.join(tmp, name)
  fs.writeFileSync(file, text)
  return file
}

const configError = (f: () => unknown): ConfigError => {
  let r: unknown
  try {
    r = f()
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
  if (Result.isResult(r) && Result.isFailure(r) && r.failure instanceof ConfigError) return r.failure
  throw new Error("expected a ConfigError")
}

const resolve = (...args: Parameters<typeof resolveSettings>) => Result.getOrThrow(resolveSettings(...args))

describe("resolveSettings", () => {
  it("defaults are the specification's", () => {
    const s = resolve({ config: yamlFile("empty.yaml", "") }, {})
    assert.strictEqual(Redacted.value(s.mongoUri), "mongodb://localhost:27017/")
    assert.strictEqual(s.dbName, "csai")
    assert.strictEqual(s.interval, 5)
    assert.strictEqual(s.batchSize, 50)
    assert.isUndefined(s.maxIterations)
    // Issue 15: --concurrency is the ceiling of an adaptive limit, and no fixed request rate.
    assert.strictEqual(s.concurrency, 32)
    assert.isUndefined(s.llmOptions.maxRequestsPerMinute)
    assert.strictEqual(s.llmOptions.minConcurrency, 2)
    assert.strictEqual(s.llmOptions.stopAfterSameErrors, 3)
    assert.strictEqual(s.llmOptions.aicoreModel, "anthropic--claude-4.6-sonnet")
    assert.strictEqual(s.retry.baseDelayMs, 5000)
    assert.strictEqual(s.retry.maxRetries, 3)
    assert.strictEqual(s.jobName, "conversation_performance_analysis")
  })

  it("the bundled YAML holds the same defaults", () => {
    const s = resolve({}, {}, REPO_ROOT)
    const d = resolve({ config: yamlFile("empty2.yaml", "") }, {})
    assert.strictEqual(Redacted.value(s.mongoUri), Redacted.value(d.mongoUri))
    for (const k of ["dbName", "interval", "batchSize", "maxIterations", "concurrency", "jobName", "logFormat", "logDir", "samplesPath"] as const) {
      assert.deepStrictEqual(s[k], d[k], k)
    }
    assert.deepStrictEqual(s.retry, d.retry)
    for (const k of ["maxRequestsPerMinute", "minConcurrency", "stopAfterSameErrors", "aicoreModel"] as const) {
      assert.deepStrictEqual(s.llmOptions[k], d.llmOptions[k], k)
    }
    assert.isAbove(Object.keys(s.llmOptions.prices).length, 0)
  })

  it("precedence is flag > environment > YAML > default", () => {
    const file = yamlFile("p.yaml", "job:\n  batch_size: 20\n  concurrency: 3\n  interval_minutes: 2\nmongodb:\n  db_name: fromyaml\n")
    const s = resolve({ config: file, batchSize: 7 }, { CPA_BATCH_SIZE: "9", CPA_CONCURRENCY: "4" })
    assert.strictEqual(s.batchSize, 7)
    assert.strictEqual(s.concurrency, 4)
    assert.strictEqual(s.interval, 2)
    assert.strictEqual(s.dbName, "fromyaml")
    const e = resolve({ config: file }, { MONGODB_CONNECTION_STRING: "mongodb://u:p@h/" })
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
    const err = configError(() => resolveSettings({ config: yamlFile("e.yaml", ""), ...flags }, env))
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

  it("an unknown YAML key names the key and the file, and suggests the closest known key", () => {
    const err = configError(() => resolveSettings({ config: yamlFile("typo.yaml", "job:\n  batchsize: 1\n") }, {}))
    assert.strictEqual(err.message, `job.batchsize (YAML, ${path.join(tmp, "typo.yaml")}): unknown key; did you mean job.batch_size?`)
    const section = configError(() => resolveSettings({ config: yamlFile("sec.yaml", "mongo:\n  uri: mongodb://h/\n") }, {}))
    assert.include(section.message, "mongo (YAML")
    assert.include(section.message, "did you mean mongodb?")
    const far = configError(() => resolveSettings({ config: yamlFile("far.yaml", "frobnicate: 1\n") }, {}))
    assert.include(far.message, "frobnicate (YAML")
    assert.notInclude(far.message, "did you mean")
    const notMap = configError(() => resolveSettings({ config: yamlFile("nm.yaml", "job: 5\n") }, {}))
    assert.include(notMap.message, "job (YAML")
    assert.include(notMap.message, "expected a mapping")
    const price = configError(() => resolveSettings({ config: yamlFile("pr.yaml", "llm:\n  prices:\n    m: { input: 1, output: 1, cache_write: 1, cache_raed: 1 }\n") }, {}))
    assert.include(price.message, "llm.prices.m.cache_raed")
  })

  it("the bundled YAML has no key the settings table does not know", () => {
    assert.isTrue(Result.isSuccess(resolveSettings({}, {}, REPO_ROOT)))
  })

  it("a YAML syntax error shows the line and where in it", () => {
    const err = configError(() => resolveSettings({ config: yamlFile("syn.yaml", "job:\n  batch_size: 5\n  concurrency: [1, 2\n") }, {}))
    assert.match(err.message, /not valid YAML at line 3: .+: "concurrency: \[1, 2"$/)
    assert.notInclude(err.message, "\n")
    assert.notMatch(err.message, /:$/)
  })

  it("an environment variable that is set but empty is an error, not the default", () => {
    const err = configError(() => resolveSettings({ config: yamlFile("e2.yaml", "") }, { MONGODB_CONNECTION_STRING: "" }))
    assert.strictEqual(err.setting, "MONGODB_CONNECTION_STRING (environment)")
    assert.include(err.message, "empty")
    assert.strictEqual(configError(() => resolveSettings({ config: yamlFile("e3.yaml", ""), mongoUri: "" }, {})).setting, "--mongo-uri")
  })

  it.each([
    ["http://example.com/", "mongodb://"],
    ["mongodb://u:p@", "no host"],
    ["mongodb:///db", "no host"]
  ])("rejects the connection string %s before connecting, without echoing it", (uri, why) => {
    const err = configError(() => resolveSettings({ config: yamlFile("u.yaml", ""), mongoUri: uri }, {}))
    assert.strictEqual(err.setting, "--mongo-uri")
    assert.include(err.message, why)
    assert.notInclude(err.message, "u:p")
  })

  it("llm.rationales and llm.show_upstream_labels are true by default, and read booleans from YAML and words from the environment", () => {
    const d = resolve({ config: yamlFile("b0.yaml", "") }, {})
    assert.strictEqual(d.llmOptions.rationales, true)
    assert.strictEqual(d.llmOptions.showUpstreamLabels, true)
    const y = resolve({ config: yamlFile("b1.yaml", "llm:\n  rationales: false\n  show_upstream_labels: false\n") }, {})
    assert.strictEqual(y.llmOptions.rationales, false)
    assert.strictEqual(y.llmOptions.showUpstreamLabels, false)
    const e = resolve({ config: yamlFile("b2.yaml", "llm:\n  rationales: false\n") }, { CPA_RATIONALES: "yes", CPA_SHOW_UPSTREAM_LABELS: "off" })
    assert.strictEqual(e.llmOptions.rationales, true)
    assert.strictEqual(e.llmOptions.showUpstreamLabels, false)
    const bad = configError(() => resolveSettings({ config: yamlFile("b3.yaml", "") }, { CPA_RATIONALES: "maybe" }))
    assert.strictEqual(bad.message, "CPA_RATIONALES (environment): expected true or false, got \"maybe\"")
  })

  it("a missing default config file is not an error", () => {
    const s = resolve({}, {}, tmp)
    assert.strictEqual(s.batchSize, 50)
  })
})

describe("the settings table", () => {
  it("is the README's settings table, row for row", () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8")
    const start = readme.indexOf("<!-- settings-table:start -->")
    const end = readme.indexOf("<!-- settings-table:end -->")
    assert.isAbove(start, -1, "README lacks the settings-table markers")
    assert.strictEqual(
      readme.slice(start + "<!-- settings-table:start -->".length, end).trim(),
      settingsMarkdown(),
      "README.md's settings table differs from src/config/SettingsTable.ts: run npm run docs"
    )
  })

  it("every flag, environment variable and YAML key appears once", () => {
    const all = Object.values(SETTINGS).flatMap((s: Setting<unknown>) => [s.flag?.name, s.env, s.yaml].filter((x) => x !== undefined))
    assert.strictEqual(new Set(all).size, all.length)
  })

  it("every default passes its own parser", () => {
    for (const [id, s] of Object.entries(SETTINGS) as Array<[string, Setting<unknown>]>) {
      const d = typeof s.default === "function" ? (s.default as () => unknown)() : s.default
      if (d === undefined || d === "") continue
      assert.isTrue(Result.isSuccess(s.parse(d, id)), id)
    }
  })
})
