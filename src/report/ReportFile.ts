import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { ConfigError, RunFatal } from "../domain/Errors.ts"

const codeOf = (e: unknown): string | undefined => (e as { code?: string } | undefined)?.code

/**
 * Checks, before any work, that `file` can take a report: an existing writable file, or a new
 * one in an existing writable directory. Creates nothing. Fails with the one line that names
 * the flag and why (exit 2).
 */
export const checkReportFile = (flag: string, file: string): Effect.Effect<void, ConfigError> =>
  Effect.suspend(() => {
    const fail = (why: string) => Effect.fail(new ConfigError({ setting: flag, message: `${flag} ${file}: ${why}` }))
    const abs = path.resolve(file)
    try {
      if (fs.statSync(abs).isDirectory()) return fail("is a directory")
      fs.accessSync(abs, fs.constants.W_OK)
      return Effect.void
    } catch (e) {
      if (codeOf(e) !== "ENOENT") return fail(`cannot be written (${codeOf(e) ?? String(e)})`)
    }
    const dir = path.dirname(abs)
    try {
      if (!fs.statSync(dir).isDirectory()) return fail(`${dir} is not a directory`)
      fs.accessSync(dir, fs.constants.W_OK)
      return Effect.void
    } catch (e) {
      return fail(codeOf(e) === "ENOENT" ? `the directory ${dir} does not exist` : `the directory ${dir} cannot be written (${codeOf(e) ?? String(e)})`)
    }
  })

/** Writes the report whole or not at all: to a temporary file beside it, then renamed over it. */
export const writeReportFile = (file: string, text: string): Effect.Effect<string, RunFatal> =>
  Effect.try({
    try: () => {
      const abs = path.resolve(file)
      const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.tmp`)
      try {
        fs.writeFileSync(tmp, text)
        fs.renameSync(tmp, abs)
      } catch (e) {
        fs.rmSync(tmp, { force: true })
        throw e
      }
      return abs
    },
    catch: (e) => new RunFatal({ message: `cannot write the report to ${file}: ${e instanceof Error ? e.message : String(e)}` })
  })
