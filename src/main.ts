#!/usr/bin/env node
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console as NodeConsole } from "node:console"
import { Writable } from "node:stream"
import { Cause, ConfigProvider, Console, Context, Effect, Exit as EffectExit, Fiber, Layer, Option, Redacted, Result, Runtime } from "effect"
import { Argument, CliOutput, Command, Flag } from "effect/cli"
import { ConfigError } from "./domain/Errors.ts"
import { runBatch } from "./programs/Batch.ts"
import { calibrate } from "./programs/Calibrate.ts"
import { listDeadLetters, requestDeadLetterRetry, retryDeadLetters, showDeadLetter } from "./programs/DeadLetters.ts"
import { scoreDemoStore } from "./programs/DemoStore.ts"
import { RETEST_CONFIRM_ABOVE_USD, retest } from "./programs/Retest.ts"
import { withLease } from "./programs/Lease.ts"
import { runPeriodic } from "./programs/Periodic.ts"
import { runBatchMode } from "./programs/BatchMode.ts"
import { cancelBatch, listBatches, showBatch } from "./programs/Batches.ts"
import { formatBatchResults } from "./programs/Reports.ts"
import { buildReport, DEFAULT_REPORT_OPTIONS, parseReportInput, renderReport } from "./programs/Report.ts"
import { formatReportSummary } from "./programs/ReportText.ts"
import { checkReportFile, writeReportFile } from "./report/ReportFile.ts"
import { DIMENSIONS, FORMATS } from "./domain/Report.ts"
import { PERIODS } from "./domain/ReportStats.ts"
import { resetState, showStats } from "./programs/Stats.ts"
import { Analyzer } from "./services/Analyzer.ts"
import type { ConversationStore } from "./services/ConversationStore.ts"
import type { JobStateStore } from "./services/JobStateStore.ts"
import { checkLogDir, FileOnly, loggingLayer, toLogLevel } from "./ops/Logging.ts"
import { MemoryConversationStore, makeMemoryStoreState } from "./store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "./store/memory/MemoryJobStateStore.ts"
import { loadSourceFile } from "./store/memory/Samples.ts"
import { type JobSettings, Settings } from "./services/Settings.ts"
import { type Env, type FlagValues, resolveSettings } from "./config/resolveSettings.ts"
import { loadGrades } from "./config/GradesFile.ts"
import { loadAgentConfig } from "./config/Rubric.ts"
import { flagHelp, type FlagScope, flagSettings, type SettingId, SETTINGS } from "./config/SettingsTable.ts"
import { Shutdown } from "./services/Shutdown.ts"
import { JobHealth } from "./services/JobHealth.ts"
import { BacklogGauge } from "./services/BacklogGauge.ts"

const VERSION = "0.1.0"

const text = (name: string, description: string, metavar: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.withMetavar(metavar), Flag.optional)
const toggle = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false))

/**
 * The settings' flags, generated from the settings table. Values stay strings here: the table's
 * parsers check them, so flags, environment variables and YAML keys share one validation and
 * one error format (exit code 2, naming the setting and where its value came from).
 */
const settingFlags = (scope: FlagScope) =>
  Object.fromEntries(flagSettings(scope).map(([id, f]) => [id, text(f.name, flagHelp(SETTINGS[id]), f.metavar)])) as Record<
    SettingId,
    Flag.Flag<Option.Option<string>>
  >

const sharedFlags = settingFlags("shared")

const runFlags = {
  ...settingFlags("run"),
  singleBatch: toggle("single-batch", "Run one batch, print BATCH RESULTS and exit"),
  resetState: toggle("reset-state", "Forget the checkpoint and statistics first: the next batch starts from the first record"),
  statsOnly: toggle("stats-only", "Print JOB STATISTICS and exit (writes nothing)"),
  wait: toggle("wait", "With --single-batch or --reset-state: wait for a running instance to stop instead of exiting 3"),
  reportOut: text("report-out", "After the run, print the report's summary and write the HTML report (cpa report's defaults) to FILE", "FILE")
}

const opt = (o: Option.Option<string>): string | undefined => Option.getOrUndefined(o)

/** The setting values the command line gave, by setting id. */
const toFlagValues = (...inputs: ReadonlyArray<Readonly<Record<string, unknown>>>): FlagValues => {
  const out: Record<string, string | undefined> = {}
  for (const input of inputs) {
    for (const [id, value] of Object.entries(input)) {
      if (id in SETTINGS && Option.isOption(value)) out[id] = opt(value as Option.Option<string>)
    }
  }
  return out
}

/** Ends the process with a code; the message was printed already. */
class ExitCode extends Error {
  override readonly [Runtime.errorExitCode]: number
  constructor(code: number) {
    super(`exit ${code}`)
    this[Runtime.errorExitCode] = code
  }
}

const failWith = (code: number, message: string) =>
  InvocationOutput.pipe(
    Effect.flatMap((output) => Effect.sync(() => output.err(`error: ${message.replace(/\s*[\r\n]+\s*/g, " ")}\n`))),
    Effect.andThen(Effect.fail(new ExitCode(code)))
  )

const isMemory = (s: JobSettings) => Redacted.value(s.mongoUri) === "memory"

/**
 * What a command does to the database: `read` creates nothing (not even an index), `write`
 * prepares the indexes the writes rely on, `run` also insists on the source collection.
 */
type Access = "read" | "write" | "run"

const storeLayer = (settings: JobSettings, access: Access): Layer.Layer<ConversationStore | JobStateStore, unknown, Settings> =>
  isMemory(settings)
    ? Layer.unwrap(
      Effect.try({
        try: () => makeMemoryStoreState(loadSourceFile(settings.samplesPath)),
        catch: (e) => e instanceof ConfigError ? e : new ConfigError({ setting: "demo.samples", message: `demo.samples: ${String(e)}` })
      }).pipe(Effect.map((state) => Layer.mergeAll(MemoryConversationStore.layer(state), MemoryJobStateStore.layer())))
    )
    // Loaded only when used: the driver is a large part of a start-up that does not need it.
    : Layer.unwrap(Effect.promise(() => import("./store/mongo/layer.ts")).pipe(
      Effect.map((m) => m.mongoStoresLayer({ readOnly: access === "read", requireSources: access === "run" }))
    ))

const analyzerLayer = Layer.unwrap(Effect.promise(() => import("./analyzer/AnalyzerProvider.ts")).pipe(Effect.map((m) => m.analyzerLayer)))

const batchProviderLayer = Layer.unwrap(Effect.promise(() => import("./analyzer/AnalyzerProvider.ts")).pipe(Effect.map((m) => m.batchProviderLayer)))
/** ECharts is loaded only for an HTML report. */
const reportHtmlLayer = Layer.unwrap(Effect.promise(() => import("./report/html/HtmlReport.ts")).pipe(Effect.map((m) => m.ReportHtmlLive)))

const healthLayer = (port: number, host: string) =>
  Layer.unwrap(Effect.promise(() => import("./ops/HealthServer.ts")).pipe(Effect.map((m) => m.HealthServer.layer({ port, host }))))

/** The environment of this invocation: the process's, or a test's own when run in-process. */
const InvocationEnv = Context.Reference<Env>("cpa/InvocationEnv", { defaultValue: () => process.env })
/** Where this invocation writes: the process's stdout and stderr, or a test's collectors. */
export interface Output {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}
const processOutput: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }
const InvocationOutput = Context.Reference<Output>("cpa/InvocationOutput", { defaultValue: () => processOutput })
/** The command line of this invocation, for `--log-level` (handled by the CLI library itself). */
const InvocationArgv = Context.Reference<ReadonlyArray<string>>("cpa/InvocationArgv", { defaultValue: () => process.argv.slice(2) })
/** The signal that asked this invocation to stop, once one has (for the log line that says so). */
const StopSignal = Context.Reference<() => string | undefined>("cpa/StopSignal", { defaultValue: () => () => undefined })

/** `--log-level` given on the command line wins over LOG_LEVEL and the YAML key. */
const argvLogLevel = (argv: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--log-level") return argv[i + 1]
    if (argv[i]!.startsWith("--log-level=")) return argv[i]!.slice("--log-level=".length)
  }
  return undefined
}

/**
 * The exit code and the one line for an error that ended a command: 2 for bad input or
 * configuration (not worth restarting), 1 for a failed run that a restart may fix.
 */
const describeFailure = (e: unknown): { readonly code: number; readonly message: string } => {
  const tagged = e as { _tag?: string; message?: string; reason?: string; operation?: string }
  switch (tagged._tag) {
    case "ConfigError":
      return { code: 2, message: String(tagged.message) }
    case "LeaseHeld":
      return { code: 3, message: String(tagged.message) }
    case "InputError":
      return { code: 2, message: String(tagged.message) }
    // A missing, malformed or refused key, found before the first record: configuration (a
    // key refused in the middle of a run stops it as a RunFatal instead).
    case "AnalyzerError":
      return { code: ["Credentials", "Unauthorized", "Forbidden"].includes(String(tagged.reason)) ? 2 : 1, message: String(tagged.message) }
    // The health server cannot bind its host and port: configuration too.
    case "HealthServerError":
      return { code: 2, message: String(tagged.message) }
    case "StoreError":
      // The message already says what failed and why; a refused login, a missing privilege or
      // a malformed connection string will not mend itself on a restart.
      return { code: ["Authentication", "Authorization", "Invalid"].includes(String(tagged.reason)) ? 2 : 1, message: String(tagged.message) }
    default:
      return { code: 1, message: String(tagged.message ?? e) }
  }
}

/** Settings of this process, once resolved (the signal handler reads the grace period). */
let current: JobSettings | undefined

/**
 * Resolves the settings, then runs `program` with logging, the stores and (when asked for)
 * the analyzer. Bad settings exit 2; run-fatal errors exit 1 with one line on stderr.
 */
const withJob = <A, E, R extends Settings | ConversationStore | JobStateStore | Analyzer | JobHealth | BacklogGauge | Shutdown>(
  flags: FlagValues,
  /** `analyzer` may depend on the settings (the in-memory demo store needs one to score its samples). */
  options: { readonly analyzer: boolean | ((settings: JobSettings) => boolean); readonly health?: boolean; readonly access: Access },
  program: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const resolved = resolveSettings(flags, yield* InvocationEnv)
    if (Result.isFailure(resolved)) return yield* failWith(2, resolved.failure.message)
    const settings = resolved.success
    const rubric = loadAgentConfig(settings.agentConfigPath)
    if (Result.isFailure(rubric)) return yield* failWith(2, rubric.failure.message)
    const agent = rubric.success
    const logDir = yield* Effect.result(checkLogDir(settings.logDir))
    if (Result.isFailure(logDir)) return yield* failWith(2, logDir.failure.message)
    current = settings
    // A stop request is logged like everything else (text or JSON, stderr and the daily file).
    const stopSignal = yield* StopSignal
    const announceStop = Effect.gen(function*() {
      yield* (yield* Shutdown).await
      yield* Effect.logWarning(
        `${stopSignal() ?? "stop requested"}: finishing records in flight (up to ${settings.shutdownGraceMs / 1000} s), then stopping; send it again to stop at once`
      )
    })
    const settingsLayer = Settings.layerValue(settings, agent)
    const services = Layer.mergeAll(
      storeLayer(settings, options.access),
      (typeof options.analyzer === "function" ? options.analyzer(settings) : options.analyzer) ? analyzerLayer : Layer.succeed(Analyzer, Analyzer.of({ provider: "none", analyze: () => Effect.die("no analyzer in this command") })),
      JobHealth.layer,
      BacklogGauge.layer
    ).pipe(Layer.provideMerge(settingsLayer))
    const withStopNotice = Effect.gen(function*() {
      const notice = yield* Effect.forkChild(announceStop)
      return yield* (program as Effect.Effect<A, E, Settings | ConversationStore | JobStateStore | Analyzer | JobHealth | BacklogGauge | Shutdown>).pipe(
        Effect.ensuring(Fiber.interrupt(notice))
      )
    })
    return yield* withStopNotice.pipe(
      Effect.provide(
        options.health === true && settings.healthPort !== undefined
          ? healthLayer(settings.healthPort, settings.healthHost).pipe(Layer.provideMerge(services))
          : services
      ),
      Effect.catch((e: unknown) => {
        if (e instanceof ExitCode) return Effect.fail(e)
        const { code, message } = describeFailure(e)
        // The line that ends the run goes to the daily file too, as a log entry.
        return Effect.logFatal(message).pipe(Effect.provideService(FileOnly, true), Effect.andThen(failWith(code, message)))
      }),
      Effect.provide(loggingLayer({
        level: toLogLevel(argvLogLevel(yield* InvocationArgv) ?? settings.logLevel),
        format: settings.logFormat,
        dir: settings.logDir,
        retentionDays: settings.logRetentionDays,
        write: (yield* InvocationOutput).err
      }))
    )
  })

/** `--report-out FILE`: the report's summary on stdout and its HTML page in FILE (how the demo ends). */
const reportAfterRun = (file: string) =>
  Effect.gen(function*() {
    const report = yield* buildReport(DEFAULT_REPORT_OPTIONS)
    const written = yield* writeReportFile(file, yield* renderReport(report, "html"))
    yield* Console.log(`${formatReportSummary(report)}\n\nHTML report (trend, distributions, breakdown by agent, conversations to review): ${written}`)
  }).pipe(Effect.provide(reportHtmlLayer))

/** Bad `--out`/`--report-out`: one line, exit 2, before anything runs. */
const checkOut = (flag: string, file: string | undefined) =>
  file === undefined ? Effect.void : Effect.catch(checkReportFile(flag, file), (e) => failWith(2, e.message))

export const cpa = Command.make("cpa", runFlags).pipe(
  Command.withSharedFlags(sharedFlags),
  Command.withHandler((input) =>
    checkOut("--report-out", opt(input.reportOut)).pipe(Effect.andThen(withJob(toFlagValues(input), {
      analyzer: (s) => !input.statsOnly && s.llmMode === "online",
      health: !input.statsOnly,
      access: input.statsOnly ? (input.resetState ? "write" : "read") : "run"
    }, Effect.gen(function*() {
      const settings = yield* Settings
      if (input.statsOnly && !input.resetState) {
        yield* showStats()
        return
      }
      // Writing needs the job's lease. Periodic mode waits for it as a standby; a one-shot
      // command (one batch, a reset) says who holds it and exits 3, unless told to --wait.
      yield* withLease(
        Effect.gen(function*() {
          if (input.resetState) yield* resetState()
          if (input.statsOnly) return
          if (settings.llmMode === "batch") yield* runBatchMode({ single: input.singleBatch }).pipe(Effect.provide(batchProviderLayer))
          else if (input.singleBatch) yield* Console.log(formatBatchResults(yield* runBatch()))
          else yield* runPeriodic()
        }),
        { wait: input.wait || (!input.resetState && !input.singleBatch) }
      )
      // The in-memory store ends with the process: show what it holds before it goes.
      if (input.statsOnly || isMemory(settings)) yield* showStats()
      const reportOut = opt(input.reportOut)
      if (reportOut !== undefined) yield* reportAfterRun(reportOut)
    }))))
  ),
  Command.withDescription(
    "Conversation Performance Analysis: reads conversations from <db>.sentiment_analysis, scores each on 14 agent-performance KPIs with Claude (or the offline heuristic) and stores the results in agentic_analysis."
  ),
  Command.withExamples([
    { command: "cpa --mongo-uri memory --llm heuristic --single-batch", description: "One batch over the bundled samples, offline" },
    { command: "cpa --single-batch --log-level DEBUG", description: "One batch against MongoDB on localhost" },
    { command: "cpa --stats-only", description: "Show job statistics" },
    { command: "cpa --interval 5", description: "A batch every 5 minutes until stopped" },
    { command: "cpa --reset-state --single-batch", description: "Start again from the first record" },
    { command: "cpa --mongo-uri memory --llm heuristic --report-out report.html", description: "The demo: analyze the samples, then the report" }
  ])
)

const list = Command.make("list", {
  error: text("error", "Only this error tag or reason (InvalidSourceDocument, AnalyzerError, ModelOutputInvalid, RateLimited, ...)", "TAG"),
  limit: Flag.Int("limit").pipe(
    Flag.withDescription("Rows to show (1 or more)"),
    Flag.withDefault(50),
    Flag.filter((n) => n >= 1, (n) => `--limit must be 1 or more, got ${n}`)
  ),
  json: toggle("json", "Print JSON")
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    yield* withJob(toFlagValues(shared), { analyzer: false, access: "read" }, listDeadLetters({ errorTag: opt(input.error), limit: input.limit, json: input.json }))
  })).pipe(Command.withDescription("Open dead letters: counts by error tag, then the records"))

const show = Command.make("show", {
  id: Argument.String("source-id").pipe(Argument.withDescription("The source document's _id (24 hex characters)"))
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    yield* withJob(toFlagValues(shared), { analyzer: false, access: "read" }, showDeadLetter(input.id))
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
    const selection = { ids: input.id.length > 0 ? input.id : undefined, errorTag: opt(input.error) }
    // While another instance runs the job, the records are marked for it instead of waiting.
    yield* withJob(
      toFlagValues(shared),
      { analyzer: true, access: "write" },
      withLease(retryDeadLetters(selection), { wait: false }).pipe(
        Effect.catchTag("LeaseHeld", (held) => requestDeadLetterRetry(selection, held.holder))
      )
    )
  })).pipe(Command.withDescription(
  "Run dead letters through the pipeline again: a success stores the result and resolves the dead letter. While the job runs in another instance, marks them for it to retry in its next batch."
))

const deadLetters = Command.make("dead-letters").pipe(
  Command.withDescription("Review and retry the records that could not be analyzed (failed_analysis_records)"),
  Command.withSubcommands([list, show, retry])
)

const format = Flag.Literals("format", ["text", "json"]).pipe(Flag.withDescription("Output format"), Flag.withDefault("text"))
const modelUsed = text("model-used", "Compare the results of this model_used (default: the most recently used)", "NAME")

const calibrateCommand = Command.make("calibrate", {
  grades: Flag.String("grades").pipe(
    Flag.withDescription("Human grades: CSV or JSON lines with source_object_id, an optional grader, and any KPI names as columns"),
    Flag.withMetavar("FILE")
  ),
  modelUsed,
  format
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    const rows = loadGrades(input.grades)
    if (Result.isFailure(rows)) return yield* failWith(2, rows.failure.message)
    yield* withJob(
      toFlagValues(shared),
      { analyzer: isMemory, access: "read" },
      scoreDemoStore("calibrate").pipe(
        Effect.andThen(calibrate({ file: input.grades, rows: rows.success, modelUsed: opt(input.modelUsed), format: input.format }))
      )
    )
  })).pipe(Command.withDescription(
    "Agreement with people: compare human grades with the stored results of one model_used (Spearman rho, MAE, kappa / weighted kappa with bootstrap intervals, inter-grader agreement, a verdict per KPI). Writes nothing."
  ))

const retestCommand = Command.make("retest", {
  sample: Flag.Int("sample").pipe(Flag.withDescription("Conversations to score again"), Flag.withMetavar("N"), Flag.filter((n) => n >= 1, (n) => `--sample must be >= 1, got ${n}`)),
  seed: Flag.Int("seed").pipe(Flag.withDescription("Seed of the sample (the same seed picks the same conversations)"), Flag.withMetavar("S"), Flag.withDefault(1)),
  modelUsed,
  format,
  yes: toggle("yes", `Go ahead when the estimated cost of a paid model is above $${RETEST_CONFIRM_ABOVE_USD.toFixed(2)}`)
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    yield* withJob(
      toFlagValues(shared),
      { analyzer: true, access: "read" },
      scoreDemoStore("retest").pipe(Effect.andThen(retest({
        sample: input.sample,
        seed: input.seed,
        modelUsed: opt(input.modelUsed),
        format: input.format,
        yes: input.yes
      })))
    )
  })).pipe(Command.withDescription(
    "Agreement with itself: score N already-scored conversations again with the configured analyzer and report per KPI the mean absolute difference and the binary KPIs that flipped. Writes nothing."
  ))

const batchId = Argument.String("batch-id").pipe(Argument.withDescription("The Message Batch id (msgbatch_...)"))
/** The Message Batches API needs Claude direct; the job's state says which batches are its own. */
const withBatches = <A, E, R>(shared: Readonly<Record<string, unknown>>, program: Effect.Effect<A, E, R>, access: Access = "read") =>
  withJob(toFlagValues(shared), { analyzer: false, access }, program.pipe(Effect.provide(batchProviderLayer)) as Effect.Effect<A, unknown, Settings | JobStateStore>)

const batchesList = Command.make("list", {
  limit: Flag.Int("limit").pipe(Flag.withDescription("Batches to show, newest first"), Flag.withDefault(20)),
  format
}, (input) => Effect.flatMap(cpa, (shared) => withBatches(shared, listBatches({ limit: input.limit, format: input.format }))))
  .pipe(Command.withDescription("The account's Message Batches, newest first, with their request counts; marks the ones in flight for this job"))
const batchesShow = Command.make("show", { id: batchId, format }, (input) => Effect.flatMap(cpa, (shared) => withBatches(shared, showBatch(input.id, input.format))))
  .pipe(Command.withDescription("One Message Batch: status, request counts, and what this job sent in it"))
const batchesCancel = Command.make("cancel", { id: batchId, format }, (input) => Effect.flatMap(cpa, (shared) => withBatches(shared, cancelBatch(input.id, input.format), "write")))
  .pipe(Command.withDescription(
    "Cancel a Message Batch: its unprocessed requests end canceled and return to the job's queue when collected (stop the job or switch to --llm-mode online to keep them from being sent again)"
  ))
const batchesCommand = Command.make("batches").pipe(
  Command.withDescription("Batch mode (--llm-mode batch): list, show and cancel Anthropic Message Batches"),
  Command.withSubcommands([batchesList, batchesShow, batchesCancel])
)


const report = Command.make("report", {
  since: text("since", "First day of the window (YYYY-MM-DD, UTC, inclusive), by conversation time; default: 12 weeks before --until", "DAY"),
  until: text("until", "Day after the window (exclusive); default: the Monday after the newest conversation's week", "DAY"),
  period: Flag.String("period").pipe(Flag.withDescription(`Trend period: ${PERIODS.join(", ")} (weeks are ISO, from Monday) (default: week)`), Flag.withMetavar("PERIOD"), Flag.withDefault("week")),
  by: Flag.String("by").pipe(Flag.withDescription(`Breakdown: ${DIMENSIONS.join(", ")} (default: agent)`), Flag.withMetavar("DIMENSION"), Flag.withDefault("agent")),
  modelUsed: text("model-used", "The model_used the report covers (default: the latest analysis's); models are never averaged together", "NAME"),
  format: Flag.String("format").pipe(Flag.withDescription(`Output: ${FORMATS.join(", ")} (default: text)`), Flag.withMetavar("FORMAT"), Flag.withDefault("text")),
  out: text("out", "Write the report to FILE (whole, or not at all) instead of stdout", "FILE"),
  top: Flag.Int("top").pipe(
    Flag.withDescription("Conversations in each review list, and oldest open dead letters shown (0-1000) (default: 10)"),
    Flag.withMetavar("N"),
    Flag.withDefault(10)
  )
}, (input) =>
  Effect.gen(function*() {
    const shared = yield* cpa
    const parsed = parseReportInput({
      since: opt(input.since),
      until: opt(input.until),
      period: input.period,
      by: input.by,
      modelUsed: opt(input.modelUsed),
      format: input.format,
      top: input.top
    })
    if (Result.isFailure(parsed)) return yield* failWith(2, parsed.failure)
    const out = opt(input.out)
    yield* checkOut("--out", out)
    yield* withJob(toFlagValues(shared), { analyzer: false, access: "read" }, Effect.gen(function*() {
      const body = yield* renderReport(yield* buildReport(parsed.success), parsed.success.format).pipe(Effect.provide(reportHtmlLayer))
      if (out === undefined) yield* Console.log(body.replace(/\n$/, ""))
      else yield* Effect.logInfo(`report written to ${yield* writeReportFile(out, body)}`)
    }))
  })).pipe(
    Command.withDescription("What the scores say: coverage, KPI summary, trend, breakdown, conversations to review, dead letters (reads only)"),
    Command.withExamples([
      { command: "cpa report", description: "The last 12 weeks with data, by week, by agent, as text" },
      { command: "cpa report --since 2024-01-01 --until 2024-04-01 --period month --by intent", description: "A quarter by month, broken down by intent" },
      { command: "cpa report --format html --out report.html", description: "The HTML page with charts" },
      { command: "cpa report --by model --format json", description: "Models side by side, as JSON" }
    ])
  )

export const app = cpa.pipe(Command.withSubcommands([deadLetters, report, calibrateCommand, retestCommand, batchesCommand]))

/** The built-in `--log-level` takes lower-case names; the original job's runbooks use DEBUG/WARNING. */
export const normalizeArgv = (argv: ReadonlyArray<string>): Array<string> =>
  argv.map((arg, i) => (argv[i - 1] === "--log-level" || arg.startsWith("--log-level=") ? arg.toLowerCase() : arg))

const exitCodeOf = (exit: EffectExit.Exit<unknown, unknown>, stopRequested: boolean, output: Output = processOutput): number => {
  if (EffectExit.isSuccess(exit)) return 0
  if (Cause.hasInterruptsOnly(exit.cause)) return stopRequested ? 0 : 130
  const error = Cause.squash(exit.cause)
  if (error instanceof ExitCode) return error[Runtime.errorExitCode]
  const tag = (error as { _tag?: string } | undefined)?._tag
  if (tag === "ShowHelp") return 2
  if (tag !== undefined && tag.startsWith("Cli")) return 2
  output.err(`error: ${Cause.pretty(exit.cause)}\n`)
  return 1
}

/**
 * A usage error is one line on stderr naming the culprit, with a hint to `--help`; stdout stays
 * empty (the whole help on stdout hid the one line that mattered). `--help` itself is unchanged.
 */
const presenter = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? InvocationOutput.pipe(Effect.flatMap((output) =>
        Effect.sync(() => {
          const first = event.errors[0]?.message ?? "invalid command line"
          output.err(`error: ${first.replace(/\s*[\r\n]+\s*/g, " ")} (see ${event.commandPath.join(" ")} --help)\n`)
        })
      ))
      : CliOutput.defaultPresenter.present(event)
})

/**
 * One invocation of the CLI on `argv`, with its own environment and stop signal: what `main`
 * runs for the process, and what tests run in-process (with their own output collectors).
 */
export const cli = (
  argv: ReadonlyArray<string>,
  options: {
    readonly env?: Env
    readonly shutdown?: Shutdown["Service"]
    readonly stopSignal?: () => string | undefined
    readonly output?: Output
  } = {}
): Effect.Effect<void, unknown> => {
  const env = options.env ?? process.env
  const output = options.output ?? processOutput
  const stream = (write: (text: string) => void) =>
    new Writable({ decodeStrings: false, write: (chunk, _encoding, done) => (write(String(chunk)), done()) })
  const console = options.output === undefined
    ? new NodeConsole(process.stdout, process.stderr)
    : new NodeConsole(stream(output.out), stream(output.err))
  return Command.runWith(app, { version: VERSION })(normalizeArgv(argv)).pipe(
    Effect.provideService(InvocationEnv, env),
    Effect.provideService(InvocationArgv, argv),
    Effect.provideService(StopSignal, options.stopSignal ?? (() => undefined)),
    options.shutdown !== undefined ? Effect.provideService(Shutdown, options.shutdown) : Effect.provideServiceEffect(Shutdown, Shutdown.make),
    Effect.provideService(InvocationOutput, output),
    Effect.provideService(Console.Console, console),
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: definedOnly(env) }))),
    Effect.provide(presenter),
    Effect.provide(NodeServices.layer)
  )
}

const definedOnly = (env: Env): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))

/** Runs one invocation to its end and returns its exit code (for in-process tests). */
export const runCli = async (argv: ReadonlyArray<string>, options: { readonly env?: Env; readonly output?: Output } = {}): Promise<number> =>
  exitCodeOf(await Effect.runPromiseExit(cli(argv, options)), false, options.output)

/**
 * Runs the CLI for the process. The first SIGTERM/SIGINT asks for a graceful stop: no new
 * records, the ones in flight finish within `shutdown.grace_seconds`, the checkpoint is saved,
 * status `stopped`, exit 0. A second signal exits at once (the checkpoint rule keeps that safe).
 */
export const main = (argv: ReadonlyArray<string> = process.argv.slice(2)): void => {
  const shutdown = Effect.runSync(Shutdown.make)
  let stopSignal: string | undefined
  let forced = false
  const fiber = Effect.runFork(cli(argv, { shutdown, stopSignal: () => stopSignal }))
  let graceTimer: NodeJS.Timeout | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) {
      // Again: stop now. Interrupting still runs the finalizers (job state `stopped`, the
      // lease released) where the store answers; a hung store cannot hold the exit for long.
      forced = true
      fiber.interruptUnsafe()
      setTimeout(() => process.exit(130), 5_000).unref()
      return
    }
    stopSignal = signal
    Effect.runSync(shutdown.request)
    const graceMs = current?.shutdownGraceMs ?? 30_000
    graceTimer = setTimeout(() => fiber.interruptUnsafe(), graceMs)
    graceTimer.unref()
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    clearTimeout(graceTimer)
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    process.exitCode = forced ? 130 : exitCodeOf(exit, Effect.runSync(shutdown.isRequested))
  })
}

if (import.meta.main) main()
