import * as fs from "node:fs"
import * as path from "node:path"
import { Context, Effect, Layer, Logger, References } from "effect"
import { ConfigError } from "../domain/Errors.ts"
import type { LogLevel } from "effect/LogLevel"
import type { LogFormat } from "../services/Settings.ts"

const LEVELS: Record<string, LogLevel> = {
  all: "All",
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
}

export const toLogLevel = (name: string): LogLevel => LEVELS[name.toLowerCase()] ?? "Info"

/** `periodic_job_YYYYMMDD.log`, as the original job named its daily files. */
export const logFileName = (date: Date): string => `periodic_job_${date.toISOString().slice(0, 10).replaceAll("-", "")}.log`

const LOG_FILE = /^periodic_job_(\d{8})\.log$/

/** Deletes daily log files older than `days`; returns the names it removed. */
export const pruneLogs = (dir: string, days: number, now: Date): Array<string> => {
  const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "")
  const removed: Array<string> = []
  let names: Array<string>
  try {
    names = fs.readdirSync(dir)
  } catch {
    return removed
  }
  for (const name of names) {
    const m = LOG_FILE.exec(name)
    if (m !== null && m[1]! < cutoff) {
      fs.rmSync(path.join(dir, name), { force: true })
      removed.push(name)
    }
  }
  return removed
}

/**
 * Makes sure `dir` is a directory this process can write log files in (creating it if needed),
 * before anything else happens: a run must not take the lease and then fail on its first log line.
 */
export const checkLogDir = (dir: string): Effect.Effect<void, ConfigError> =>
  Effect.try({
    try: () => {
      fs.mkdirSync(dir, { recursive: true })
      if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" })
      fs.accessSync(dir, fs.constants.W_OK)
    },
    catch: (e) => {
      const code = (e as NodeJS.ErrnoException).code
      const why = code === "EEXIST" || code === "ENOTDIR"
        ? "it is not a directory"
        : code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? "permission denied"
        : String((e as Error).message ?? e)
      return new ConfigError({ setting: "logging.directory", message: `log directory ${dir}: cannot write log files there (${why})` })
    }
  })

/**
 * While set, a log entry goes to the daily file only: the fatal line that ends a run is written
 * to stderr as the one `error:` line and to the file as a log entry.
 */
export const FileOnly = Context.Reference<boolean>("cpa/LogFileOnly", { defaultValue: () => false })

/** Appends each line to the day's file, switching files at midnight (UTC); closed with the run. */
const dailyFileLogger = (dir: string, format: (o: Logger.Options<unknown>) => string) =>
  Effect.acquireRelease(
    Effect.sync(() => ({ current: "", fd: undefined as number | undefined })),
    (file) => Effect.sync(() => file.fd !== undefined && fs.closeSync(file.fd))
  ).pipe(Effect.map((file) =>
    Logger.make<unknown, void>((options) => {
      const name = logFileName(options.date)
      if (name !== file.current) {
        if (file.fd !== undefined) fs.closeSync(file.fd)
        file.fd = fs.openSync(path.join(dir, name), "a")
        file.current = name
      }
      fs.writeSync(file.fd!, `${format(options)}\n`)
    })
  ))

const text = (o: Logger.Options<unknown>): string => String(Logger.formatLogFmt.log(o))
const json = (o: Logger.Options<unknown>): string => String(Logger.formatJson.log(o))

export interface LoggingOptions {
  readonly level: LogLevel
  readonly format: LogFormat
  /** Directory of the daily files; undefined: console only. */
  readonly dir: string | undefined
  readonly retentionDays: number
  /** Where console lines go (stderr unless an in-process caller collects them). */
  readonly write?: (line: string) => void
}

/**
 * Logs to stderr (logfmt, or one JSON object a line for containers) and to the daily file,
 * so that stdout carries only the reports.
 */
export const loggingLayer = (options: LoggingOptions) => {
  const format = options.format === "json" ? json : text
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  const consoleLogger = Logger.make<unknown, void>((o) => {
    if (!o.fiber.getRef(FileOnly)) write(`${format(o)}\n`)
  })
  if (options.dir !== undefined) pruneLogs(options.dir, options.retentionDays, new Date())
  const loggers = options.dir !== undefined ? [consoleLogger, dailyFileLogger(options.dir, format)] : [consoleLogger]
  return Layer.merge(
    Logger.layer(loggers),
    Layer.succeed(References.MinimumLogLevel, options.level)
  )
}
