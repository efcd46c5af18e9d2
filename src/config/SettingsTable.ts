import { Result } from "effect"
import { ConfigError } from "../domain/Errors.ts"
import type { ModelPrice } from "../domain/Cost.ts"
import { JOB_NAME } from "../domain/Result.ts"
import { type LogFormat, PROVIDERS } from "../services/Settings.ts"

/**
 * Every setting of the job, once: its flag, environment variable, YAML key, parser, default
 * and help text. This table drives the CLI flags, their `--help` lines, the resolution
 * (flag > environment > YAML > default) and the README's settings table.
 */

/** Parses a raw value (a flag's or an environment variable's string, or a YAML value). */
export type Parse<A> = (raw: unknown, where: string) => Result.Result<A, ConfigError>

export const settingError = (where: string, message: string) => new ConfigError({ setting: where, message: `${where}: ${message}` })

const show = (raw: unknown): string => (typeof raw === "string" ? JSON.stringify(raw) : String(raw))

const str: Parse<string> = (raw, where) =>
  typeof raw === "string" && raw.trim() !== ""
    ? Result.succeed(raw.trim())
    : typeof raw === "number"
    ? Result.succeed(String(raw))
    : Result.fail(settingError(where, `expected a non-empty string, got ${show(raw)}`))

export const num = (opts: { readonly min: number; readonly max?: number; readonly integer?: boolean; readonly exclusiveMin?: boolean }): Parse<number> =>
(raw, where) => {
  const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN
  const kind = opts.integer ? "an integer" : "a number"
  const bound = opts.exclusiveMin ? `> ${opts.min}` : `>= ${opts.min}`
  const upper = opts.max !== undefined ? ` and <= ${opts.max}` : ""
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) return Result.fail(settingError(where, `expected ${kind}, got ${show(raw)}`))
  if ((opts.exclusiveMin ? n <= opts.min : n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    return Result.fail(settingError(where, `must be ${bound}${upper}, got ${show(raw)}`))
  }
  return Result.succeed(n)
}

const oneOf = <const L extends ReadonlyArray<string>>(choices: L): Parse<L[number]> => (raw, where) => {
  const s = typeof raw === "string" ? raw.trim().toLowerCase() : raw
  return typeof s === "string" && (choices as ReadonlyArray<string>).includes(s)
    ? Result.succeed(s as L[number])
    : Result.fail(settingError(where, `expected one of ${choices.join(", ")}, got ${show(raw)}`))
}

/** true/false (YAML booleans, or the words in a flag or an environment variable; also yes/no, on/off, 1/0). */
const bool: Parse<boolean> = (raw, where) => {
  if (typeof raw === "boolean") return Result.succeed(raw)
  const s = typeof raw === "string" ? raw.trim().toLowerCase() : typeof raw === "number" ? String(raw) : undefined
  if (s !== undefined && ["true", "yes", "on", "1"].includes(s)) return Result.succeed(true)
  if (s !== undefined && ["false", "no", "off", "0"].includes(s)) return Result.succeed(false)
  return Result.fail(settingError(where, `expected true or false, got ${show(raw)}`))
}

/** `null` in YAML (or no value at all) keeps the default; a value must parse. */
const optional = <A>(parse: Parse<A>): Parse<A | undefined> => parse

const URI_SCHEMES = ["mongodb://", "mongodb+srv://"]

/** A MongoDB connection string (or `memory`): caught here, before any connection is tried. */
const mongoUri: Parse<string> = (raw, where) =>
  Result.flatMap(str(raw, where), (s) => {
    if (s === "memory") return Result.succeed(s)
    if (!URI_SCHEMES.some((p) => s.startsWith(p))) {
      return Result.fail(settingError(where, `expected a mongodb:// or mongodb+srv:// connection string, or memory, got a value starting ${show(s.split(":")[0] + ":")}`))
    }
    const rest = s.slice(s.indexOf("//") + 2)
    const authority = rest.split("/")[0]!
    const hosts = authority.includes("@") ? authority.slice(authority.lastIndexOf("@") + 1) : authority
    if (hosts === "") return Result.fail(settingError(where, "the connection string names no host"))
    return Result.succeed(s)
  })

/** `llm.prices (YAML)` + `m.input` -> `llm.prices.m.input (YAML)`. */
const within = (where: string, sub: string): string => {
  const i = where.indexOf(" (")
  return i < 0 ? `${where}.${sub}` : `${where.slice(0, i)}.${sub}${where.slice(i)}`
}

const prices: Parse<Record<string, ModelPrice>> = (raw, where) => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return Result.fail(settingError(where, "expected a mapping of model name to prices"))
  const out: Record<string, ModelPrice> = {}
  for (const [model, p] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof p !== "object" || p === null || Array.isArray(p)) return Result.fail(settingError(within(where, model), "expected input, output, cache_write and cache_read"))
    const known = ["input", "output", "cache_write", "cache_read"] as const
    const extra = Object.keys(p).find((k) => !(known as ReadonlyArray<string>).includes(k))
    if (extra !== undefined) return Result.fail(settingError(within(where, `${model}.${extra}`), `unknown key; expected one of ${known.join(", ")}`))
    const price = {} as Record<keyof ModelPrice, number>
    for (const k of known) {
      const v = num({ min: 0 })((p as Record<string, unknown>)[k], within(where, `${model}.${k}`))
      if (Result.isFailure(v)) return Result.fail(v.failure)
      price[k] = v.success
    }
    out[model] = price
  }
  return Result.succeed(out)
}

const cacheFloors: Parse<Record<string, number>> = (raw, where) => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return Result.fail(settingError(where, "expected a mapping of model name to tokens"))
  const out: Record<string, number> = {}
  for (const [model, v] of Object.entries(raw as Record<string, unknown>)) {
    const n = num({ min: 0, integer: true })(v, within(where, model))
    if (Result.isFailure(n)) return Result.fail(n.failure)
    out[model] = n.success
  }
  return Result.succeed(out)
}

/** Which command line a flag belongs to: every command (`shared`) or the job's own (`run`). */
export type FlagScope = "shared" | "run"

export interface Setting<A> {
  readonly flag?: { readonly name: string; readonly metavar: string; readonly scope: FlagScope }
  readonly env?: string
  /** Dotted YAML key. `llm.prices` is a mapping whose keys are model names. */
  readonly yaml?: string
  readonly parse: Parse<A>
  readonly default: A | (() => A)
  /** How the default reads in `--help` and the README (when it is not the value itself). */
  readonly defaultText?: string
  readonly help: string
}

const setting = <A>(s: Setting<A>): Setting<A> => s

const positiveInt = num({ min: 1, integer: true })

export const SETTINGS = {
  config: setting({
    flag: { name: "config", metavar: "FILE", scope: "shared" },
    env: "CPA_CONFIG",
    parse: str,
    default: "config/periodic_job_config.yaml",
    help: "YAML settings file"
  }),
  mongoUri: setting({
    flag: { name: "mongo-uri", metavar: "URI", scope: "shared" },
    env: "MONGODB_CONNECTION_STRING",
    yaml: "mongodb.uri",
    parse: mongoUri,
    default: "mongodb://localhost:27017/",
    help: "MongoDB connection string, or `memory` for the in-memory demo store seeded from samples/"
  }),
  dbName: setting({
    flag: { name: "db-name", metavar: "NAME", scope: "shared" },
    env: "CPA_DB_NAME",
    yaml: "mongodb.db_name",
    parse: str,
    default: "csai",
    help: "Database name"
  }),
  serverSelectionTimeoutMs: setting({
    yaml: "mongodb.server_selection_timeout_ms",
    parse: positiveInt,
    default: 10_000,
    help: "How long to look for a MongoDB server before an operation fails (ms)"
  }),
  socketTimeoutMs: setting({
    yaml: "mongodb.socket_timeout_ms",
    parse: num({ min: 0, integer: true }),
    default: 60_000,
    help: "How long one MongoDB operation may wait on the socket (ms; 0 = no limit)"
  }),
  jobName: setting({ env: "CPA_JOB_NAME", yaml: "job.name", parse: str, default: JOB_NAME, help: "The job's name in job_state and in every result" }),
  interval: setting({
    flag: { name: "interval", metavar: "MINUTES", scope: "run" },
    env: "CPA_INTERVAL",
    yaml: "job.interval_minutes",
    parse: num({ min: 0, exclusiveMin: true }),
    default: 5,
    help: "Minutes between batches (fractions allowed)"
  }),
  batchSize: setting({
    flag: { name: "batch-size", metavar: "N", scope: "run" },
    env: "CPA_BATCH_SIZE",
    yaml: "job.batch_size",
    parse: num({ min: 1, max: 100_000, integer: true }),
    default: 50,
    help: "Records per batch"
  }),
  maxIterations: setting({
    flag: { name: "max-iterations", metavar: "N", scope: "run" },
    env: "CPA_MAX_ITERATIONS",
    yaml: "job.max_iterations",
    parse: optional(positiveInt),
    default: undefined,
    defaultText: "until stopped",
    help: "Stop after this many batches"
  }),
  concurrency: setting({
    flag: { name: "concurrency", metavar: "N", scope: "shared" },
    env: "CPA_CONCURRENCY",
    yaml: "job.concurrency",
    parse: num({ min: 1, max: 256, integer: true }),
    default: 32,
    help: "Most records analyzed at once (1-256); with Claude, the ceiling the adaptive limit of requests in flight grows to"
  }),
  retryBaseDelaySeconds: setting({
    env: "CPA_RETRY_BASE_DELAY_SECONDS",
    yaml: "retry.base_delay_seconds",
    parse: num({ min: 0 }),
    default: 5,
    defaultText: "5 (then 10, 20)",
    help: "First retry delay of a failed model call; each further one doubles"
  }),
  retryMaxRetries: setting({
    yaml: "retry.max_retries",
    parse: num({ min: 0, max: 10, integer: true }),
    default: 3,
    help: "Retries of a retriable model error; a record error is then dead-lettered, an outage stops the batch"
  }),
  llm: setting({
    flag: { name: "llm", metavar: "PROVIDER", scope: "shared" },
    env: "CPA_LLM",
    yaml: "llm.provider",
    parse: optional(oneOf(PROVIDERS)),
    default: undefined,
    defaultText: "anthropic when ANTHROPIC_API_KEY is set, else aicore when a service key is found",
    help: "Analyzer: heuristic | anthropic | aicore"
  }),
  llmMode: setting({
    flag: { name: "llm-mode", metavar: "MODE", scope: "run" },
    env: "CPA_LLM_MODE",
    yaml: "llm.mode",
    parse: oneOf(["online", "batch"] as const),
    default: "online" as "online" | "batch",
    help: "online: one request per record; batch: Anthropic's Message Batches API (Claude direct only; half price, results within 24 h)"
  }),
  pollInterval: setting({
    flag: { name: "poll-interval", metavar: "MINUTES", scope: "run" },
    env: "CPA_POLL_INTERVAL",
    yaml: "llm.batch.poll_interval_minutes",
    parse: optional(num({ min: 0, exclusiveMin: true })),
    default: undefined,
    defaultText: "the interval",
    help: "Batch mode: minutes between polls of a batch in flight (fractions allowed)"
  }),
  model: setting({
    flag: { name: "model", metavar: "MODEL", scope: "shared" },
    env: "CPA_MODEL",
    yaml: "llm.model",
    parse: optional(str),
    default: undefined,
    defaultText: "claude-sonnet-4-6",
    help: "Claude model id for --llm anthropic (AI Core takes its model from llm.aicore.model)"
  }),
  maxTokens: setting({
    yaml: "llm.max_tokens",
    parse: num({ min: 256, max: 64_000, integer: true }),
    default: 2048,
    help: "Output token limit of one model answer"
  }),
  rationales: setting({
    env: "CPA_RATIONALES",
    yaml: "llm.rationales",
    parse: bool,
    default: true,
    help: "Ask Claude for a reason and checked evidence per KPI category before the scores (false: scores only, fewer output tokens)"
  }),
  showUpstreamLabels: setting({
    env: "CPA_SHOW_UPSTREAM_LABELS",
    yaml: "llm.show_upstream_labels",
    parse: bool,
    default: true,
    help: "Show Claude the upstream classifier's labels (category, intent, topic, sentiment) with the conversation (false: messages only)"
  }),
  timeoutSeconds: setting({ yaml: "llm.timeout_seconds", parse: num({ min: 1 }), default: 120, help: "Time limit of one model call (s)" }),
  maxRequestsPerMinute: setting({
    env: "CPA_MAX_REQUESTS_PER_MINUTE",
    yaml: "llm.max_requests_per_minute",
    parse: optional(positiveInt),
    default: undefined,
    defaultText: "none: the rate adapts to the provider's limits",
    help: "Optional upper bound on model requests a minute"
  }),
  minConcurrency: setting({
    env: "CPA_MIN_CONCURRENCY",
    yaml: "llm.min_concurrency",
    parse: num({ min: 1, max: 256, integer: true }),
    default: 2,
    help: "Fewest model requests in flight the adaptive limit goes down to after 429/529 answers"
  }),
  stopAfterSameErrors: setting({
    env: "CPA_STOP_AFTER_SAME_ERRORS",
    yaml: "llm.stop_after_same_errors",
    parse: num({ min: 1, max: 1000, integer: true }),
    default: 3,
    help: "Stop the run when this many model requests in a row fail with the same non-retriable error (status and type)"
  }),
  aicoreCredentialsFile: setting({
    env: "AICORE_CREDENTIALS_FILE",
    yaml: "llm.aicore.credentials_file",
    parse: str,
    default: "config/aicore_credentials.yaml",
    help: "SAP AI Core service key file (AICORE_SERVICE_KEY, the key's JSON, wins over it)"
  }),
  aicoreResourceGroup: setting({
    env: "AICORE_RESOURCE_GROUP",
    yaml: "llm.aicore.resource_group",
    parse: str,
    default: "default",
    help: "SAP AI Core resource group"
  }),
  aicoreModel: setting({
    env: "AICORE_MODEL",
    yaml: "llm.aicore.model",
    parse: str,
    default: "anthropic--claude-4.6-sonnet",
    help: "SAP AI Core model name (--llm aicore); checked against the RUNNING deployments at start-up"
  }),
  aicoreDeploymentUrl: setting({
    env: "AICORE_DEPLOYMENT_URL",
    yaml: "llm.aicore.deployment_url",
    parse: optional(str),
    default: undefined,
    defaultText: "looked up by model name",
    help: "SAP AI Core deployment URL"
  }),
  prices: setting({
    yaml: "llm.prices",
    parse: prices,
    default: {},
    defaultText: "Sonnet 4.6/4.5, Haiku 4.5 list prices (Nov 2026) in the bundled YAML",
    help: "USD per million tokens by model: input, output, cache_write, cache_read"
  }),
  cacheFloors: setting({
    yaml: "llm.cache_floors",
    parse: cacheFloors,
    default: {},
    defaultText: "Anthropic's per-model floors (Nov 2026) in the bundled YAML",
    help: "Smallest cached prefix (tools + system, tokens) by model name; the start-up check warns below it"
  }),
  logLevel: setting({
    flag: { name: "log-level", metavar: "LEVEL", scope: "shared" },
    env: "LOG_LEVEL",
    yaml: "logging.level",
    parse: oneOf(["trace", "debug", "info", "warning", "warn", "error", "fatal", "none"]),
    default: "info",
    help: "debug | info | warning | error (any case; also trace, fatal, none)"
  }),
  logFormat: setting<LogFormat>({
    flag: { name: "log-format", metavar: "FORMAT", scope: "shared" },
    env: "CPA_LOG_FORMAT",
    yaml: "logging.format",
    parse: oneOf(["text", "json"]),
    default: "text",
    help: "Log lines as text (logfmt) or json (one object a line)"
  }),
  logDir: setting({
    flag: { name: "log-dir", metavar: "DIR", scope: "shared" },
    env: "CPA_LOG_DIR",
    yaml: "logging.directory",
    parse: str,
    default: "logs",
    help: "Directory of the daily log files periodic_job_YYYYMMDD.log"
  }),
  logRetentionDays: setting({
    yaml: "logging.retention_days",
    parse: positiveInt,
    default: 14,
    help: "Days of daily log files kept (older ones are deleted at start-up)"
  }),
  healthPort: setting({
    flag: { name: "health-port", metavar: "PORT", scope: "run" },
    env: "CPA_HEALTH_PORT",
    yaml: "health.port",
    parse: optional(num({ min: 0, max: 65535, integer: true })),
    default: undefined,
    defaultText: "off",
    help: "Serve /health, /ready and /metrics on this port"
  }),
  healthHost: setting({
    flag: { name: "health-host", metavar: "HOST", scope: "run" },
    env: "CPA_HEALTH_HOST",
    yaml: "health.host",
    parse: str,
    default: "127.0.0.1",
    help: "Address the health server binds"
  }),
  shutdownGraceSeconds: setting({
    yaml: "shutdown.grace_seconds",
    parse: num({ min: 0 }),
    default: 30,
    help: "After SIGTERM, how long records in flight may take to finish (s)"
  }),
  leaseTtlSeconds: setting({
    yaml: "lease.ttl_seconds",
    parse: num({ min: 1 }),
    default: 60,
    help: "Lifetime of the job's lease without renewal (renewed every third of it)"
  }),
  instanceId: setting({
    env: "CPA_INSTANCE_ID",
    parse: str,
    default: "",
    defaultText: "<host>:<pid>:<random>",
    help: "This process's name in the lease"
  }),
  samplesPath: setting({
    yaml: "demo.samples",
    parse: str,
    default: "samples/sentiment_analysis.json",
    help: "Conversations that seed the in-memory store (--mongo-uri memory)"
  }),
  agentConfigPath: setting({
    env: "CPA_AGENT_CONFIG",
    yaml: "rubric.agent_config",
    parse: str,
    default: "config/agent_performance_config.yaml",
    help: "The KPI rubric file: sub-factor weights and the texts of the model prompt"
  })
} as const

export type SettingId = keyof typeof SETTINGS
export type SettingValue<K extends SettingId> = (typeof SETTINGS)[K] extends Setting<infer A> ? A : never
export type SettingValues = { readonly [K in SettingId]: SettingValue<K> }

/** Environment variables read by the adapters themselves (secrets and endpoints), for the README. */
export const ADAPTER_ENV: ReadonlyArray<{ readonly env: string; readonly defaultText: string; readonly help: string }> = [
  { env: "ANTHROPIC_API_KEY", defaultText: "none", help: "Anthropic API key (--llm anthropic)" },
  { env: "ANTHROPIC_BASE_URL", defaultText: "https://api.anthropic.com", help: "Anthropic API endpoint" },
  { env: "AICORE_SERVICE_KEY", defaultText: "none", help: "SAP AI Core service key JSON (wins over the file)" }
]

/** Flag name -> setting id, for the flags a command scope offers. */
export const flagSettings = (scope: FlagScope): ReadonlyArray<readonly [SettingId, NonNullable<Setting<unknown>["flag"]>]> =>
  (Object.entries(SETTINGS) as Array<[SettingId, Setting<unknown>]>)
    .filter(([id, s]) => s.flag !== undefined && s.flag.scope === scope && id !== "logLevel")
    .map(([id, s]) => [id, s.flag!] as const)

const defaultOf = (s: Setting<unknown>): string => {
  if (s.defaultText !== undefined) return s.defaultText
  const d = typeof s.default === "function" ? (s.default as () => unknown)() : s.default
  return String(d)
}

/** The `--help` text of a flag: what it does, where else it can be set, its default. */
export const flagHelp = (s: Setting<unknown>): string =>
  `${s.help}${s.env !== undefined ? ` [env ${s.env}]` : ""} (default: ${defaultOf(s)})`

/** The README's settings table, as markdown. */
export const settingsMarkdown = (): string => {
  const code = (s: string | undefined) => (s === undefined ? "" : `\`${s}\``)
  const rows = (Object.values(SETTINGS) as Array<Setting<unknown>>).map((s) =>
    `| ${code(s.yaml)} | ${s.flag !== undefined ? code(`--${s.flag.name}`) : ""} | ${code(s.env)} | ${code(defaultOf(s))} | ${s.help} |`
  )
  const extra = ADAPTER_ENV.map((e) => `| | | ${code(e.env)} | ${code(e.defaultText)} | ${e.help} |`)
  return ["| YAML key | Flag | Environment | Default | |", "|---|---|---|---|---|", ...rows, ...extra].join("\n")
}
