import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Redacted } from "effect"
import YAML from "yaml"
import { ConfigError } from "../domain/Errors.ts"
import type { ModelPrice } from "../domain/Cost.ts"
import { type JobSettings, type LogFormat, PROVIDERS } from "../services/Settings.ts"
import { JOB_NAME } from "../domain/Result.ts"

// main.ts still imports it from here.
export { loadAgentConfig } from "./Rubric.ts"

/** Flags as parsed by the CLI; undefined when not given. */
export interface FlagValues {
  readonly mongoUri?: string | undefined
  readonly dbName?: string | undefined
  readonly interval?: number | undefined
  readonly batchSize?: number | undefined
  readonly maxIterations?: number | undefined
  readonly concurrency?: number | undefined
  readonly llm?: string | undefined
  readonly model?: string | undefined
  readonly config?: string | undefined
  readonly logFormat?: string | undefined
  readonly logDir?: string | undefined
  readonly healthPort?: number | undefined
  readonly healthHost?: string | undefined
}

type Parse<A> = (raw: unknown, where: string) => A | ConfigError

const fail = (where: string, message: string) => new ConfigError({ setting: where, message: `${where}: ${message}` })

const str: Parse<string> = (raw, where) =>
  typeof raw === "string" && raw.trim() !== ""
    ? raw.trim()
    : typeof raw === "number"
    ? String(raw)
    : fail(where, `expected a non-empty string, got ${show(raw)}`)

const num = (opts: { readonly min: number; readonly max?: number; readonly integer?: boolean; readonly exclusiveMin?: boolean }): Parse<number> =>
(raw, where) => {
  const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN
  const kind = opts.integer ? "an integer" : "a number"
  const bound = opts.exclusiveMin ? `> ${opts.min}` : `>= ${opts.min}`
  const upper = opts.max !== undefined ? ` and <= ${opts.max}` : ""
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) return fail(where, `expected ${kind}, got ${show(raw)}`)
  if ((opts.exclusiveMin ? n <= opts.min : n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    return fail(where, `must be ${bound}${upper}, got ${show(raw)}`)
  }
  return n
}

const oneOf = <const L extends ReadonlyArray<string>>(choices: L): Parse<L[number]> => (raw, where) => {
  const s = typeof raw === "string" ? raw.trim().toLowerCase() : raw
  return typeof s === "string" && (choices as ReadonlyArray<string>).includes(s)
    ? s as L[number]
    : fail(where, `expected one of ${choices.join(", ")}, got ${show(raw)}`)
}

const show = (raw: unknown): string => (typeof raw === "string" ? JSON.stringify(raw) : String(raw))

const getPath = (obj: unknown, keys: ReadonlyArray<string>): unknown =>
  keys.reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj)

export type Env = Readonly<Record<string, string | undefined>>

/**
 * Resolves one setting. The first source that has a value wins: flag, then environment
 * variable, then YAML key, then the default. The error names the source that was bad.
 */
const pick = <A>(
  parse: Parse<A>,
  sources: {
    readonly flag?: readonly [name: string, value: unknown]
    readonly env?: readonly [name: string, env: Env]
    readonly yaml?: readonly [key: string, doc: unknown]
  },
  fallback: A
): A => {
  const { flag, env, yaml } = sources
  if (flag !== undefined && flag[1] !== undefined) return orThrow(parse(flag[1], `--${flag[0]}`))
  const envValue = env !== undefined ? env[1][env[0]] : undefined
  if (env !== undefined && envValue !== undefined && envValue !== "") return orThrow(parse(envValue, `${env[0]} (environment)`))
  const yamlValue = yaml !== undefined ? getPath(yaml[1], yaml[0].split(".")) : undefined
  if (yaml !== undefined && yamlValue !== undefined && yamlValue !== null) return orThrow(parse(yamlValue, `${yaml[0]} (YAML)`))
  return fallback
}

const orThrow = <A>(a: A | ConfigError): A => {
  if (a instanceof ConfigError) throw a
  return a
}

export const DEFAULT_CONFIG_PATH = "config/periodic_job_config.yaml"

/** Reads a YAML file into a plain object; a missing default file is an empty config. */
export const readYamlFile = (file: string, setting: string, required: boolean): unknown => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === "ENOENT") return {}
    throw fail(setting, `cannot read ${file}: ${(e as Error).message}`)
  }
  try {
    const doc: unknown = YAML.parse(text)
    if (doc === null || doc === undefined) return {}
    if (typeof doc !== "object" || Array.isArray(doc)) throw new Error("the top level is not a mapping")
    return doc
  } catch (e) {
    throw fail(setting, `${file} is not valid YAML: ${((e as Error).message.split("\n")[0] ?? "")}`)
  }
}

const DEFAULT_PRICES: Record<string, ModelPrice> = {}

const parsePrices: Parse<Record<string, ModelPrice>> = (raw, where) => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(where, "expected a mapping of model name to prices")
  const out: Record<string, ModelPrice> = {}
  for (const [model, p] of Object.entries(raw as Record<string, unknown>)) {
    const price = {} as Record<keyof ModelPrice, number>
    for (const k of ["input", "output", "cache_write", "cache_read"] as const) {
      const v = num({ min: 0 })(getPath(p, [k]), `${where}.${model}.${k}`)
      if (v instanceof ConfigError) return v
      price[k] = v
    }
    out[model] = price
  }
  return out
}

/**
 * Resolves every setting from flags, the environment and the YAML file. Throws a
 * `ConfigError` naming the first bad setting (the caller turns it into exit code 2).
 */
export const resolveSettings = (flags: FlagValues, env: Env, cwd = process.cwd()): JobSettings => {
  const configPath = pick(str, { flag: ["config", flags.config], env: ["CPA_CONFIG", env] }, DEFAULT_CONFIG_PATH)
  const explicit = flags.config !== undefined || (env.CPA_CONFIG ?? "") !== ""
  const y = readYamlFile(path.resolve(cwd, configPath), flags.config !== undefined ? "--config" : "CPA_CONFIG", explicit)
  const Y = (key: string) => [key, y] as const
  const positiveInt = num({ min: 1, integer: true })
  const maxIterations = pick(positiveInt, {
    flag: ["max-iterations", flags.maxIterations],
    env: ["CPA_MAX_ITERATIONS", env],
    yaml: Y("job.max_iterations")
  }, -1)
  const healthPort = pick(num({ min: 0, max: 65535, integer: true }), {
    flag: ["health-port", flags.healthPort],
    env: ["CPA_HEALTH_PORT", env],
    yaml: Y("health.port")
  }, -1)
  const llm = pick(oneOf([...PROVIDERS, "auto"]), { flag: ["llm", flags.llm], env: ["CPA_LLM", env], yaml: Y("llm.provider") }, "auto")
  const model = pick(str, { flag: ["model", flags.model], env: ["CPA_MODEL", env], yaml: Y("llm.model") }, "")
  const deploymentUrl = pick(str, { env: ["AICORE_DEPLOYMENT_URL", env], yaml: Y("llm.aicore.deployment_url") }, "")
  return {
    configPath,
    mongoUri: Redacted.make(
      pick(str, { flag: ["mongo-uri", flags.mongoUri], env: ["MONGODB_CONNECTION_STRING", env], yaml: Y("mongodb.uri") }, "mongodb://localhost:27017/")
    ),
    dbName: pick(str, { flag: ["db-name", flags.dbName], env: ["CPA_DB_NAME", env], yaml: Y("mongodb.db_name") }, "csai"),
    mongo: {
      serverSelectionTimeoutMs: pick(positiveInt, { yaml: Y("mongodb.server_selection_timeout_ms") }, 10_000),
      socketTimeoutMs: pick(num({ min: 0, integer: true }), { yaml: Y("mongodb.socket_timeout_ms") }, 60_000)
    },
    jobName: pick(str, { env: ["CPA_JOB_NAME", env], yaml: Y("job.name") }, JOB_NAME),
    interval: pick(num({ min: 0, exclusiveMin: true }), {
      flag: ["interval", flags.interval],
      env: ["CPA_INTERVAL", env],
      yaml: Y("job.interval_minutes")
    }, 5),
    batchSize: pick(num({ min: 1, max: 100_000, integer: true }), {
      flag: ["batch-size", flags.batchSize],
      env: ["CPA_BATCH_SIZE", env],
      yaml: Y("job.batch_size")
    }, 50),
    maxIterations: maxIterations === -1 ? undefined : maxIterations,
    concurrency: pick(num({ min: 1, max: 256, integer: true }), {
      flag: ["concurrency", flags.concurrency],
      env: ["CPA_CONCURRENCY", env],
      yaml: Y("job.concurrency")
    }, 8),
    retry: {
      baseDelayMs: pick(num({ min: 0 }), { env: ["CPA_RETRY_BASE_DELAY_SECONDS", env], yaml: Y("retry.base_delay_seconds") }, 5) * 1000,
      maxRetries: pick(num({ min: 0, max: 10, integer: true }), { yaml: Y("retry.max_retries") }, 3)
    },
    llm: llm === "auto" ? undefined : llm,
    model: model === "" ? undefined : model,
    llmOptions: {
      maxTokens: pick(num({ min: 256, max: 64_000, integer: true }), { yaml: Y("llm.max_tokens") }, 2048),
      timeoutMs: pick(num({ min: 1 }), { yaml: Y("llm.timeout_seconds") }, 120) * 1000,
      maxRequestsPerMinute: pick(positiveInt, { env: ["CPA_MAX_REQUESTS_PER_MINUTE", env], yaml: Y("llm.max_requests_per_minute") }, 50),
      aicoreCredentialsPath: pick(str, { env: ["AICORE_CREDENTIALS_FILE", env], yaml: Y("llm.aicore.credentials_file") }, "config/aicore_credentials.yaml"),
      aicoreResourceGroup: pick(str, { env: ["AICORE_RESOURCE_GROUP", env], yaml: Y("llm.aicore.resource_group") }, "default"),
      aicoreDeploymentUrl: deploymentUrl === "" ? undefined : deploymentUrl,
      aicoreModel: pick(str, { env: ["AICORE_MODEL", env], yaml: Y("llm.aicore.model") }, "anthropic--claude-4.5-sonnet"),
      prices: pick(parsePrices, { yaml: Y("llm.prices") }, DEFAULT_PRICES)
    },
    logLevel: pick(oneOf(["trace", "debug", "info", "warning", "warn", "error", "fatal", "none"]), {
      env: ["LOG_LEVEL", env],
      yaml: Y("logging.level")
    }, "info"),
    logFormat: pick(oneOf(["text", "json"]), { flag: ["log-format", flags.logFormat], env: ["CPA_LOG_FORMAT", env], yaml: Y("logging.format") }, "text"),
    logDir: pick(str, { flag: ["log-dir", flags.logDir], env: ["CPA_LOG_DIR", env], yaml: Y("logging.directory") }, "logs"),
    logRetentionDays: pick(positiveInt, { yaml: Y("logging.retention_days") }, 14),
    healthPort: healthPort === -1 ? undefined : healthPort,
    healthHost: pick(str, { flag: ["health-host", flags.healthHost], env: ["CPA_HEALTH_HOST", env], yaml: Y("health.host") }, "127.0.0.1"),
    shutdownGraceMs: pick(num({ min: 0 }), { yaml: Y("shutdown.grace_seconds") }, 30) * 1000,
    leaseTtlMs: pick(num({ min: 1 }), { yaml: Y("lease.ttl_seconds") }, 60) * 1000,
    instanceId: pick(str, { env: ["CPA_INSTANCE_ID", env] }, `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`),
    samplesPath: pick(str, { yaml: Y("demo.samples") }, "samples/sentiment_analysis.json"),
    agentConfigPath: pick(str, { env: ["CPA_AGENT_CONFIG", env], yaml: Y("rubric.agent_config") }, "config/agent_performance_config.yaml")
  }
}
