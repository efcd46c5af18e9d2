// Rewrites the README's settings table from src/config/SettingsTable.ts (npm run docs).
import * as fs from "node:fs"
import * as path from "node:path"
import { settingsMarkdown } from "../src/config/SettingsTable.ts"

const file = path.resolve(import.meta.dirname, "../README.md")
const readme = fs.readFileSync(file, "utf8")
const start = "<!-- settings-table:start -->"
const end = "<!-- settings-table:end -->"
const a = readme.indexOf(start)
const b = readme.indexOf(end)
if (a < 0 || b < a) throw new Error(`README.md lacks ${start} ... ${end}`)
fs.writeFileSync(file, `${readme.slice(0, a + start.length)}\n${settingsMarkdown()}\n${readme.slice(b)}`)
console.log("README.md: settings table updated")
