import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Redacted, Result } from "effect"
import YAML from "yaml"
import type { ConfigError } from "../domain/Errors.ts"
import type { JobSettings } from "../services/Settings.ts"
import { closest } from "./closest.ts"
import { type Setting, type SettingId, SETTINGS, settingError, type SettingValues } from "./SettingsTable.ts"

/** Raw flag values as the CLI parsed them (strings), by setting id; undefined when not given. */
export type FlagValues = { readonly [K in SettingId]?: string | number | undefined }

export type Env = Readonly<Record<string, string | undefined>>

export const DEFAULT_CONFIG_PATH = SETTINGS.config.default

const getPath = (obj: unknown, keys: ReadonlyArray<string>): unknown =>
  keys.reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj)

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v)

/** Reads a YAML file into a plain object; a missing default file is an empty config. */
export const readYamlFile = (file: string, setting: string, required: boolean): Result.Result<Record<string, unknown>, ConfigError> => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === "ENOENT") return Result.succeed({})
    return Result.fail(settingError(setting, `cannot read ${file}: ${(e as Error).message}`))
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  const problem = doc.errors[0]
  if (problem !== undefined) {
    const first = problem.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")
    const at = problem.linePos?.[0]
    if (at === undefined) return Result.fail(settingError(setting, `${file} is not valid YAML: ${first}`))
    // An error found at the end of the input (an unclosed bracket) points past the last line:
    // show the nearest line with text on it, which is where the mistake is.
    const lines = text.split(/\r?\n/)
    let n = at.line
    while (n > 1 && (lines[n - 1] ?? "").trim() === "") n--
    const where = n === at.line ? `line ${n}, column ${at.col}` : `line ${n}`
    return Result.fail(settingError(setting, `${file} is not valid YAML at ${where}: ${first}: ${JSON.stringify((lines[n - 1] ?? "").trim())}`))
  }
  const value: unknown = doc.toJS()
  if (value === null || value === undefined) return Result.succeed({})
  if (!isMapping(value)) return Result.fail(settingError(setting, `${file} is not valid settings YAML: the top level is not a mapping`))
  return Result.succeed(value)
}

const YAML_KEYS: ReadonlyArray<string> = (Object.values(SETTINGS) as Array<Setting<unknown>>).flatMap((s) => (s.yaml !== undefined ? [s.yaml] : []))

/** The first key of the YAML document that no setting reads (a typo would otherwise be ignored). */
const unknownYamlKey = (doc: Record<string, unknown>, file: string): ConfigError | undefined => {
  const walk = (node: Record<string, unknown>, prefix: string): ConfigError | undefined => {
    for (const [k, v] of Object.entries(node)) {
      const key = prefix === "" ? k : `${prefix}.${k}`
      if (YAML_KEYS.includes(key)) continue
      if (YAML_KEYS.some((known) => known.startsWith(`${key}.`))) {
        if (v === null || v === undefined) continue
        if (!isMapping(v)) return settingError(`${key} (YAML, ${file})`, "expected a mapping")
        const inner = walk(v, key)
        if (inner !== undefined) return inner
        continue
      }
      const siblings = YAML_KEYS.filter((known) => known.startsWith(prefix === "" ? "" : `${prefix}.`))
        .map((known) => known.split(".").slice(0, key.split(".").length).join("."))
      const suggestion = closest(key, [...new Set(siblings)])
      return settingError(`${key} (YAML, ${file})`, `unknown key${suggestion !== undefined ? `; did you mean ${suggestion}?` : ""}`)
    }
    return undefined
  }
  return walk(doc, "")
}

/**
 * Resolves one setting. The first source that has a value wins: flag, then environment
 * variable, then YAML key, then the default. The error names the source that was bad.
 */
const pick = <A>(s: Setting<A>, flag: unknown, env: Env, yaml: Record<string, unknown>): Result.Result<A, ConfigError> => {
  if (s.flag !== undefined && flag !== undefined) return s.parse(flag, `--${s.flag.name}`)
  if (s.env !== undefined) {
    const value = env[s.env]
    if (value !== undefined && value.trim() === "") {
      return Result.fail(settingError(`${s.env} (environment)`, "is set but empty; give it a value or unset it"))
    }
    if (value !== undefined) return s.parse(value, `${s.env} (environment)`)
  }
  if (s.yaml !== undefined) {
    const value = getPath(yaml, s.yaml.split("."))
    if (value !== undefined && value !== null) return s.parse(value, `${s.yaml} (YAML)`)
  }
  return Result.succeed(typeof s.default === "function" ? (s.default as () => A)() : s.default)
}

/**
 * Resolves every setting from flags, the environment and the YAML file, in the table's order.
 * The failure names the first bad setting and where its value came from (exit code 2).
 */
export const resolveSettings = (flags: FlagValues, env: Env, cwd = process.cwd()): Result.Result<JobSettings, ConfigError> => {
  const configPath = pick(SETTINGS.config, flags.config, env, {})
  if (Result.isFailure(configPath)) return Result.fail(configPath.failure)
  const explicit = flags.config !== undefined || env.CPA_CONFIG !== undefined
  const yaml = readYamlFile(path.resolve(cwd, configPath.success), flags.config !== undefined ? "--config" : "CPA_CONFIG", explicit)
  if (Result.isFailure(yaml)) return Result.fail(yaml.failure)
  const unknown = unknownYamlKey(yaml.success, configPath.success)
  if (unknown !== undefined) return Result.fail(unknown)
  const values: Record<string, unknown> = {}
  for (const [id, s] of Object.entries(SETTINGS) as Array<[SettingId, Setting<unknown>]>) {
    const v = pick(s, flags[id], env, yaml.success)
    if (Result.isFailure(v)) return Result.fail(v.failure)
    values[id] = v.success
  }
  const settings = toJobSettings(values as unknown as SettingValues)
  if (settings.llmMode === "batch" && (settings.llm === "aicore" || settings.llm === "heuristic")) {
    return Result.fail(settingError(
      "llm.mode",
      settings.llm === "aicore"
        ? "batch mode needs Claude direct (--llm anthropic): SAP AI Core has no Message Batches API"
        : "batch mode needs Claude direct (--llm anthropic): the heuristic makes no model calls to batch"
    ))
  }
  return Result.succeed(settings)
}

const toJobSettings = (v: SettingValues): JobSettings => ({
  configPath: v.config,
  mongoUri: Redacted.make(v.mongoUri),
  dbName: v.dbName,
  mongo: { serverSelectionTimeoutMs: v.serverSelectionTimeoutMs, socketTimeoutMs: v.socketTimeoutMs },
  jobName: v.jobName,
  interval: v.interval,
  batchSize: v.batchSize,
  maxIterations: v.maxIterations,
  concurrency: v.concurrency,
  retry: { baseDelayMs: v.retryBaseDelaySeconds * 1000, maxRetries: v.retryMaxRetries },
  llm: v.llm,
  model: v.model,
  llmMode: v.llmMode,
  pollInterval: v.pollInterval,
  llmOptions: {
    maxTokens: v.maxTokens,
    timeoutMs: v.timeoutSeconds * 1000,
    maxRequestsPerMinute: v.maxRequestsPerMinute,
    minConcurrency: v.minConcurrency,
    stopAfterSameErrors: v.stopAfterSameErrors,
    aicoreCredentialsPath: v.aicoreCredentialsFile,
    aicoreResourceGroup: v.aicoreResourceGroup,
    aicoreDeploymentUrl: v.aicoreDeploymentUrl,
    aicoreModel: v.aicoreModel,
    prices: v.prices,
    cacheFloors: v.cacheFloors,
    rationales: v.rationales,
    showUpstreamLabels: v.showUpstreamLabels
  },
  logLevel: v.logLevel,
  logFormat: v.logFormat,
  logDir: v.logDir,
  logRetentionDays: v.logRetentionDays,
  healthPort: v.healthPort,
  healthHost: v.healthHost,
  shutdownGraceMs: v.shutdownGraceSeconds * 1000,
  leaseTtlMs: v.leaseTtlSeconds * 1000,
  instanceId: v.instanceId !== "" ? v.instanceId : `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
  samplesPath: v.samplesPath,
  agentConfigPath: v.agentConfigPath
})
