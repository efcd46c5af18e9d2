#!/usr/bin/env node
import { NodeServices } from "@effect/platform-node"
import { Cause, Console, Effect, Exit as EffectExit, Layer, Option, Redacted, Runtime } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { ConfigError } from "./domain/Errors.ts"
import { runBatch } from "./programs/Batch.ts"
import { listDeadLetters, retryDeadLetters, showDeadLetter } from "./programs/DeadLetters.ts"
import { withLease } from "./programs/Lease.ts"
import { runPeriodic } from "./programs/Periodic.ts"
import { formatBatchResults } from "./programs/Reports.ts"
import { resetState, showStats } from "./programs/Stats.ts"
import { Analyzer } from "./services/Analyzer.ts"
import { HealthServer } from "./ops/HealthServer.ts"
import { analyzerLayer } from "./analyzer/AnalyzerProvider.ts"
import type { ConversationStore } from "./services/ConversationStore.ts"
import type { JobStateStore } from "./services/JobStateStore.ts"
import { loggingLayer, toLogLevel } from "./ops/Logging.ts"
import { MemoryConversationStore, makeMemoryStoreState } from "./store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "./store/memory/MemoryJobStateStore.ts"
import { Mongo } from "./store/mongo/MongoClient.ts"
import { MongoConversationStore } from "./store/mongo/MongoConversationStore.ts"
import { MongoJobStateStore } from "./store/mongo/MongoJobStateStore.ts"
import { loadSourceFile } from "./store/memory/Samples.ts"
import { type JobSettings, Settings } from "./services/Settings.ts"
import { type FlagValues, loadAgentConfig, resolveSettings } from "./config/resolveSettings.ts"
import { Shutdown } from "./services/Shutdown.ts"
import { JobHealth } from "./services/JobHealth.ts"
import { BacklogGauge } from "./services/BacklogGauge.ts"

const VERSION = "0.1.0"

const text = (name: string, description: string, metavar: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.withMetavar(metavar), Flag.optional)
const toggle = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false))

// Values are parsed by resolveSettings, so flags, environment variables and YAML keys share
// one validation and one error format (exit code 2, naming the setting).
const sharedFlags = {
  mongoUri: text("mongo-uri", "MongoDB connection string, or `memory` for the in-memory demo store [env MONGODB_CONNECTION_STRING] (default mongodb://localhost:27017/)", "URI"),
  dbName: text("db-name", "Database name [env CPA_DB_NAME] (default csai)", "NAME"),
  concurrency: text("concurrency", "Records analyzed at once [env CPA_CONCURRENCY] (default 8)", "N"),
  llm: text("llm", "Analyzer: heuristic | anthropic | aicore [env CPA_LLM] (default: anthropic when ANTHROPIC_API_KEY is set, else aicore when a service key is found)", "PROVIDER"),
  model: text("model", "Claude model id (anthropic) or AI Core model name (aicore) [env CPA_MODEL]", "MODEL"),
  config: text("config", "YAML settings file [env CPA_CONFIG] (default config/periodic_job_config.yaml)", "FILE"),
  logFormat: text("log-format", "Log lines as text (logfmt) or json [env CPA_LOG_FORMAT] (default text)", "FORMAT"),
  logDir: text("log-dir", "Directory of the daily log files periodic_job_YYYYMMDD.log [env CPA_LOG_DIR] (default logs)", "DIR")
}

const runFlags = {
  interval: text("interval", "Minutes between batches [env CPA_INTERVAL] (default 5)", "MINUTES"),
  batchSize: text("batch-size", "Records per batch [env CPA_BATCH_SIZE] (default 50)", "N"),
  maxIterations: text("max-iterations", "Stop after this many batches [env CPA_MAX_ITERATIONS] (default: until stopped)", "N"),
  singleBatch: toggle("single-batch", "Run one batch, print BATCH RESULTS and exit"),
  resetState: toggle("reset-state", "Forget the checkpoint and statistics first: the next batch starts from the first record"),
  statsOnly: toggle("stats-only", "Print JOB STATISTICS and exit (writes nothing)"),
  healthPort: text("health-port", "Serve /health, /ready and /metrics on this port [env CPA_HEALTH_PORT] (default: off)", "PORT"),
  healthHost: text("health-host", "Address the health server binds [env CPA_HEALTH_HOST] (default 127.0.0.1)", "HOST")
}

type Input<F> = { readonly [K in keyof F]: F[K] extends Flag.Flag<infer A> ? A : never }
type SharedInput = Input<typeof sharedFlags>
type RunInput = Input<typeof runFlags>

const opt = (o: Option.Option<string>): string | undefined => Option.getOrUndefined(o)

const toFlagValues = (shared: SharedInput, run?: RunInput): FlagValues => ({
  mongoUri: opt(shared.mongoUri),
  dbName: opt(shared.dbName),
  concurrency: opt(shared.concurrency) as never,
  llm: opt(shared.llm),
  model: opt(shared.model),
  config: opt(shared.config),
  logFormat: opt(shared.logFormat),
  logDir: opt(shared.logDir),
  ...(run && {
    interval: opt(run.interval) as never,
    batchSize: opt(run.batchSize) as never,
    maxIterations: opt(run.maxIterations) as never,
    healthPort: opt(run.healthPort) as never,
    healthHost: opt(run.healthHost)
  })
})

/** Ends the process with a code; the message was printed already. */
class ExitCode extends Error {
  override readonly [Runtime.errorExitCode]: number
  constructor(code: number) {
    super(`exit ${code}`)
    this[Runtime.errorExitCode] = code
  }
}

const failWith = (code: number, message: string) =>
  Effect.sync(() => process.stderr.write(`error: ${message.replace(/\s*[\r\n]+\s*/g, " ")}\n`)).pipe(
    Effect.andThen(Effect.fail(new ExitCode(code)))
  )

const isMemory = (s: JobSettings) => Redacted.value(s.mongoUri) === "memory"

const storeLayer = (settings: JobSettings): Layer.Layer<ConversationStore | JobStateStore, unknown, Settings> =>
  isMemory(settings)
    ? Layer.unwrap(
      Effect.try({
        try: () => makeMemoryStoreState(loadSourceFile(settings.samplesPath)),
        catch: (e) => e instanceof ConfigError ? e : new ConfigError({ setting: "demo.samples", message: `demo.samples: ${String(e)}` })
      }).pipe(Effect.map((state) => Layer.mergeAll(MemoryConversationStore.layer(state), MemoryJobStateStore.layer())))
    )
    : Layer.mergeAll(MongoConversationStore.layer, MongoJobStateStore.layer).pipe(Layer.provide(Mongo.layer))

/** `--log-level` given on the command line wins over LOG_LEVEL and the YAML key. */
const argvLogLevel = (argv: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--log-level") return argv[i + 1]
    if (argv[i]!.startsWith("--log-level=")) return argv[i]!.slice("--log-level=".length)
  }
  return undefined
}

/** Settings of this process, once resolved (the signal handler reads the grace period). */
let current: JobSettings | undefined

/**
 * Resolves the settings, then runs `program` with logging, the stores and (when asked for)
 * the analyzer. Bad settings exit 2; run-fatal errors exit 1 with one line on stderr.
 */
const withJob = <A, E, R extends Settings | ConversationStore | JobStateStore | Analyzer | JobHealth | BacklogGauge | Shutdown>(
  flags: FlagValues,
  options: { readonly analyzer: boolean; readonly health?: boolean },
  program: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    let settings: JobSettings
    let agent: ReturnType<typeof loadAgentConfig>
    try {
      settings = resolveSettings(flags, process.env)
      agent = loadAgentConfig(settings.agentConfigPath)
    } catch (e) {
      if (e instanceof ConfigError) return yield* failWith(2, e.message)
      throw e
    }
    current = settings
    const settingsLayer = Settings.layerValue(settings, agent)
    const services = Layer.mergeAll(
      storeLayer(settings),
      options.analyzer ? analyzerLayer : Layer.succeed(Analyzer, Analyzer.of({ provider: "none", analyze: () => Effect.die("no analyzer in this command") })),
      JobHealth.layer,
      BacklogGauge.layer
    ).pipe(Layer.provideMerge(settingsLayer))
    return yield* (program as Effect.Effect<A, E, Settings | ConversationStore | JobStateStore | Analyzer | JobHealth | BacklogGauge | Shutdown>).pipe(
      Effect.provide(
        options.health === true && settings.healthPort !== undefined
          ? HealthServer.layer({ port: settings.healthPort, host: settings.healthHost }).pipe(Layer.provideMerge(services))
          : services
      ),
      Effect.catch((e: unknown) => {
        if (e instanceof ExitCode) return Effect.fail(e)
        const tagged = e as { _tag?: string; message?: string; reason?: string; operation?: string }
        switch (tagged._tag) {
          case "ConfigError":
            return failWith(2, String(tagged.message))
          case "StoreError":
            return failWith(1, `MongoDB ${String(tagged.reason).toLowerCase()} failure (${tagged.operation}): ${tagged.message}`)
          default:
            return failWith(1, String(tagged.message ?? e))
        }
      }),
      Effect.provide(loggingLayer({
        level: toLogLevel(argvLogLevel(process.argv) ?? settings.logLevel),
        format: settings.logFormat,
        dir: settings.logDir,
        retentionDays: settings.logRetentionDays
      }))
    )
  })

export const cpa = Command.make("cpa", runFlags).pipe(
  Command.withSharedFlags(sharedFlags),
  Command.withHandler((input) =>
    withJob(toFlagValues(input, input), { analyzer: !input.statsOnly, health: !input.statsOnly }, Effect.gen(function*() {
      const settings = yield* Settings
      if (input.statsOnly && !input.resetState) {
        yield* showStats()
        return
      }
      // Writing needs the job's lease. A reset never waits for another instance: it refuses.
      yield* withLease(
        Effect.gen(function*() {
          if (input.resetState) yield* resetState()
          if (input.statsOnly) return
          if (input.singleBatch) yield* Console.log(formatBatchResults(yield* runBatch()))
          else yield* runPeriodic()
        }),
        { wait: !input.resetState }
      )
      // The in-memory store ends with the process: show what it holds before it goes.
      if (input.statsOnly || isMemory(settings)) yield* showStats()
    }))
  ),
  Command.withDescription(
    "Conversation Performance Analysis: reads conversations from <db>.sentiment_analysis, scores each on 14 agent-performance KPIs with Claude (or the offline heuristic) and stores the results in agentic_analysis."
  ),
  Command.withExamples([
    { command: "cpa --mongo-uri memory --llm heuristic --single-batch", description: "One batch over the bundled samples, offline" },
    { command: "cpa --single-batch --log-level DEBUG", description: "One batch against MongoDB on localhost" },
    { command: "cpa --stats-only", description: "Show job statistics" },
    { command: "cpa --interval 5", description: "A batch every 5 minutes until stopped" },
    { command: "cpa --reset-state --single-batch", description: "Start again from the first record" }
  ])
)

const list = Command.make("list", {
  error: text("error", "Only this error tag or reason (InvalidSourceDocument, AnalyzerError, ModelOutputInvalid, RateLimited, ...)", "TAG"),
  limit: Flag.Int("limit").pipe(Flag.withDescription("Rows to show"), Flag.withDefault(50)),
  json: toggle("json", "Print JSON")
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    yield* withJob(toFlagValues(shared), { analyzer: false }, listDeadLetters({ errorTag: opt(input.error), limit: input.limit, json: input.json }))
  })).pipe(Command.withDescription("Open dead letters: counts by error tag, then the records"))

const show = Command.make("show", {
  id: Argument.String("source-id").pipe(Argument.withDescription("The source document's _id (24 hex characters)"))
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    yield* withJob(toFlagValues(shared), { analyzer: false }, showDeadLetter(input.id))
  })).pipe(Command.withDescription("The full error report of one dead letter"))

const retry = Command.make("retry", {
  id: Flag.String("id").pipe(Flag.withDescription("Source id to retry (repeatable)"), Flag.atLeast(0)),
  error: text("error", "Retry every open dead letter with this error tag or reason", "TAG"),
  all: toggle("all", "Retry every open dead letter")
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    const chosen = [input.id.length > 0, Option.isSome(input.error), input.all].filter(Boolean).length
    if (chosen !== 1) return yield* failWith(2, "dead-letters retry: give exactly one of --id <source-id>..., --error <tag>, --all")
    yield* withJob(toFlagValues(shared), { analyzer: true }, withLease(retryDeadLetters({
      ids: input.id.length > 0 ? input.id : undefined,
      errorTag: opt(input.error)
    }), { wait: true }))
  })).pipe(Command.withDescription("Run dead letters through the pipeline again: a success stores the result and resolves the dead letter"))

const deadLetters = Command.make("dead-letters").pipe(
  Command.withDescription("Review and retry the records that could not be analyzed (failed_analysis_records)"),
  Command.withSubcommands([list, show, retry])
)

export const app = cpa.pipe(Command.withSubcommands([deadLetters]))

/** The built-in `--log-level` takes lower-case names; the original job's runbooks use DEBUG/WARNING. */
export const normalizeArgv = (argv: ReadonlyArray<string>): Array<string> =>
  argv.map((arg, i) => (argv[i - 1] === "--log-level" || arg.startsWith("--log-level=") ? arg.toLowerCase() : arg))

const exitCodeOf = (exit: EffectExit.Exit<unknown, unknown>, stopRequested: boolean): number => {
  if (EffectExit.isSuccess(exit)) return 0
  if (Cause.hasInterruptsOnly(exit.cause)) return stopRequested ? 0 : 130
  const error = Cause.squash(exit.cause)
  if (error instanceof ExitCode) return error[Runtime.errorExitCode]
  const tag = (error as { _tag?: string } | undefined)?._tag
  if (tag === "ShowHelp") return 2
  if (tag !== undefined && tag.startsWith("Cli")) return 2
  process.stderr.write(`error: ${Cause.pretty(exit.cause)}\n`)
  return 1
}

/**
 * Runs the CLI. The first SIGTERM/SIGINT asks for a graceful stop: no new records, the ones
 * in flight finish within `shutdown.grace_seconds`, the checkpoint is saved, status `stopped`,
 * exit 0. A second signal exits at once (the checkpoint rule keeps that safe).
 */
export const main = (argv: ReadonlyArray<string> = process.argv.slice(2)): void => {
  const shutdown = Effect.runSync(Shutdown.make)
  const fiber = Effect.runFork(
    Command.runWith(app, { version: VERSION })(normalizeArgv(argv)).pipe(
      Effect.provideService(Shutdown, shutdown),
      Effect.provide(NodeServices.layer)
    )
  )
  let signals = 0
  let graceTimer: NodeJS.Timeout | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals > 1) {
      process.stderr.write(`${signal} again: exiting now\n`)
      process.exit(130)
    }
    const graceMs = current?.shutdownGraceMs ?? 30_000
    process.stderr.write(`${signal}: finishing records in flight (up to ${graceMs / 1000} s), then stopping; send it again to exit now\n`)
    Effect.runSync(shutdown.request)
    graceTimer = setTimeout(() => fiber.interruptUnsafe(), graceMs)
    graceTimer.unref()
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    clearTimeout(graceTimer)
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    process.exitCode = exitCodeOf(exit, Effect.runSync(shutdown.isRequested))
  })
}

if (import.meta.main) main()
