/**
 * `node --import ./test/support/recordLoads.ts ...`: writes the URL of every module the process
 * loaded to the file named by CPA_LOADED_MODULES when it exits (see StartupModules.test.ts).
 */
import * as fs from "node:fs"
import { registerHooks } from "node:module"

const out = process.env["CPA_LOADED_MODULES"]
const loaded: Array<string> = []
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url)
    return nextLoad(url, context)
  }
})
if (out !== undefined) process.on("exit", () => fs.writeFileSync(out, loaded.join("\n")))
