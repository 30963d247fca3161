/**
 * The shell commands of the repository's READMEs: every fenced ```sh / ```bash block of every README.md
 * (node_modules, .git, .local and dist left out), cut into commands the way a reader pastes them:
 * comments stripped, `\` continuations and multi-line quotes joined, a `for ... do ... done` (or `if`,
 * `while`, `case`) kept whole. A line that starts with `{`, `[` or `"` where a command would start is
 * the output shown after the command above it (serving's curl examples), not a command.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..", "..");

export interface ReadmeCommand {
  /** The README, relative to the repository root. */
  readme: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** What bash runs: the command's lines, continuations joined with a space, other line breaks kept. */
  script: string;
  /** One line, whitespace collapsed, the lines of a loop joined with "; ": what the classification names. */
  key: string;
}

const SKIP_DIRS = new Set(["node_modules", ".git", ".local", "dist"]);
const SHELL_LANGS = new Set(["sh", "bash", "shell"]);

export function readmes(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) out.push(...readmes(path.join(dir, entry.name)));
    else if (entry.isFile() && entry.name === "README.md") out.push(path.relative(ROOT, path.join(dir, entry.name)));
  }
  return out.sort();
}

/** The fenced shell blocks of one README: their first content line (1-based) and lines. */
export function shellBlocks(text: string): { line: number; lines: string[] }[] {
  const blocks: { line: number; lines: string[] }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```+\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```/.test(lines[end])) end++;
    if (SHELL_LANGS.has(open[1].toLowerCase())) blocks.push({ line: start + 1, lines: lines.slice(start, end) });
    i = end;
  }
  return blocks;
}

/** A line's code without its comment, and the quote still open at its end (quotes may span lines). */
function scan(line: string, quote: string | null): { code: string; quote: string | null } {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"') i++;
    } else if (c === "\\") i++;
    else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return { code: line.slice(0, i), quote };
  }
  return { code: line, quote };
}

const OPENERS = new Set(["for", "while", "until", "if", "case"]);
const CLOSERS = new Set(["done", "fi", "esac"]);
const JOIN_WITH_SPACE = /(?:\bdo|\bthen|\belse|\{|\||&&)$/;

function nesting(code: string): number {
  let depth = 0;
  for (const word of code.split(/[\s;&|()]+/)) {
    if (OPENERS.has(word)) depth++;
    else if (CLOSERS.has(word)) depth--;
  }
  return depth;
}

export function commandsOf(readme: string, block: { line: number; lines: string[] }): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  let script = "";
  let key = "";
  let first = 0;
  let quote: string | null = null;
  let depth = 0;
  /** How the next line joins the command: a `\` continuation, inside a quote, or a line of a loop. */
  let joiner: "space" | "quote" | "line" = "line";
  block.lines.forEach((raw, i) => {
    const pending = script !== "";
    if (!pending) {
      const trimmed = raw.trim();
      if (trimmed === "" || trimmed.startsWith("#") || /^[{["]/.test(trimmed)) return;
      first = block.line + i;
    }
    const scanned = scan(raw, quote);
    quote = scanned.quote;
    let code = scanned.code;
    const continued = !quote && /(^|[^\\])\\\s*$/.test(code);
    if (continued) code = code.replace(/\\\s*$/, "");
    const piece = code.trim();
    if (!pending) [script, key] = [quote ? code.trimStart() : piece, piece];
    else if (joiner === "space") [script, key] = [`${script} ${piece}`, `${key} ${piece}`];
    else if (joiner === "quote") [script, key] = [`${script}\n${quote ? code : code.trimEnd()}`, `${key} ${piece}`];
    else [script, key] = [`${script}\n${piece}`, `${key}${JOIN_WITH_SPACE.test(key) ? " " : "; "}${piece}`];
    joiner = quote ? "quote" : continued ? "space" : "line";
    if (!quote) depth += nesting(code);
    if (quote || continued || depth > 0) return;
    if (script.trim()) out.push({ readme, line: first, script: script.trim(), key: key.replace(/\s+/g, " ").trim() });
    script = "";
    key = "";
  });
  if (script.trim()) throw new Error(`${readme}:${first}: a command never ends (an open quote, a trailing \\ or an unclosed loop)`);
  return out;
}

export function allCommands(): ReadmeCommand[] {
  return readmes().flatMap((readme) => shellBlocks(readFileSync(path.join(ROOT, readme), "utf8")).flatMap((block) => commandsOf(readme, block)));
}

// ---- static checks: what a command names must exist ----------------------------------------------------

function packageScripts(dir: string): Record<string, string> | undefined {
  const file = path.join(ROOT, dir, "package.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")).scripts ?? {}) : undefined;
}

/** Words of one simple command (quotes removed; the commands checked have no spaces inside quotes). */
function words(segment: string): string[] {
  return segment.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/^['"]|['"]$/g, ""));
}

/** The simple commands of a command line: split at ; && || | and the loop keywords. */
function segments(key: string): string[] {
  return key
    .split(/\s*(?:;|&&|\|\||\||\bdo\b|\bthen\b|\bdone\b|\bfi\b)\s*/)
    .map((s) => s.replace(/^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+/, "").trim())
    .filter(Boolean);
}

/** `for v in a b c` of the command: v -> [a, b, c]. */
function loopValues(key: string): Record<string, string[]> {
  const vars: Record<string, string[]> = {};
  for (const m of key.matchAll(/\bfor (\w+) in ([^;]+);/g)) vars[m[1]] = m[2].trim().split(/\s+/);
  return vars;
}

const isPlaceholder = (w: string) => /[<>$*]|\.\.\./.test(w);
const exists = (p: string) => existsSync(path.join(ROOT, p));

/** What the command names that this repository lacks: files, npm scripts, workspaces, stacks, CLI flags. */
export function staticProblems(key: string, driftHelp: string): string[] {
  const problems: string[] = [];
  const loops = loopValues(key);
  const need = (cond: boolean, what: string) => void (cond || problems.push(what));
  for (const seg of segments(key)) {
    const w = words(seg);
    const [cmd, sub] = w;
    if (cmd === "npm" && ["run", "start", "test"].includes(sub)) {
      const end = w.indexOf("--");
      const own = end < 0 ? w : w.slice(0, end);
      const script = sub === "run" ? own.slice(2).find((x, i, a) => !x.startsWith("-") && !["-w", "--workspace"].includes(a[i - 1])) : sub;
      const workspaces = own.flatMap((x, i) => (x === "-w" || x === "--workspace" ? [own[i + 1]] : []));
      for (const dir of workspaces.length ? workspaces : ["."]) {
        const scripts = packageScripts(dir);
        need(scripts !== undefined, `${dir}/package.json does not exist (npm ${sub}${workspaces.length ? ` -w ${dir}` : ""})`);
        need(!scripts || (script !== undefined && script in scripts), `${dir === "." ? "the root package.json" : `${dir}/package.json`} has no script "${script}"`);
      }
      if (script === "plan" && end >= 0) {
        const stack = w.slice(end + 1).find((x) => !x.startsWith("-"));
        need(stack !== undefined && exists(`Pulumi.${stack}.yaml`), `npm run plan: no stack file Pulumi.${stack}.yaml`);
      }
    } else if (cmd === "npx") {
      const args = w.slice(1).filter((x) => x !== "--no-install");
      if (args[0] === "jest") for (const p of args.slice(1).filter((x) => !x.startsWith("-"))) need(exists(p), `npx jest: ${p} does not exist`);
      else if (args[0] === "mlops-drift") {
        need(exists("services/drift/bin/mlops-drift.js"), "npx mlops-drift: services/drift/bin/mlops-drift.js is gone");
        const command = args[1];
        need(new RegExp(`mlops-drift ${command}\\b`).test(driftHelp), `mlops-drift has no command "${command}" in its --help`);
        for (const flag of args.slice(2).map((x) => x.replace(/^\[/, "").replace(/\]$/, "")).filter((x) => x.startsWith("--")))
          need(new RegExp(`(^|[\\s\\[])${flag}\\b`, "m").test(driftHelp), `mlops-drift --help does not know ${flag}`);
      } else problems.push(`npx ${args[0]}: not a tool this check knows; add a static check for it`);
    } else if (cmd === "node") {
      const args = w.slice(1);
      const script = args.find((x, i) => !x.startsWith("-") && args[i - 1] !== "-r" && args[i - 1] !== "--require");
      if (script && !isPlaceholder(script)) {
        const source = script.replace(/\/dist\/(.*)\.js$/, "/src/$1.ts");
        need(exists(source), `node ${script}: ${source} does not exist`);
      }
    } else if (cmd === "bash" || cmd === "sh" || /python3?$/.test(cmd)) {
      need(sub !== undefined && exists(sub), `${cmd} ${sub}: no such file`);
    } else if (cmd === "docker" && sub === "build") {
      const file = w[w.indexOf("-f") + 1];
      need(w.includes("-f") && exists(file), `docker build -f ${file}: no such file`);
      need(w[w.length - 1] === ".", "docker build: the context must be the repository root (.)");
      for (const arg of w.filter((x, i) => w[i - 1] === "--build-arg" && x.startsWith("SERVICE="))) {
        const value = arg.slice("SERVICE=".length);
        const services = value.startsWith("$") ? loops[value.slice(1)] ?? [] : [value];
        need(services.length > 0, `docker build: ${arg} names no service`);
        for (const s of services) need(exists(`services/${s}/package.json`), `docker build --build-arg SERVICE=${s}: services/${s} is not a service`);
      }
    } else if (cmd === "pulumi") {
      const stackArgs = w.flatMap((x, i) => (x === "--stack" ? [w[i + 1]] : []));
      if (sub === "stack" && ["init", "select"].includes(w[2])) stackArgs.push(w[w.length - 1]);
      for (const s of stackArgs.filter((x) => x && !isPlaceholder(x) && !x.includes("/"))) need(exists(`Pulumi.${s}.yaml`), `pulumi: no stack file Pulumi.${s}.yaml`);
      for (const flag of ["--policy-pack", "--policy-pack-config"]) {
        const i = w.indexOf(flag);
        if (i >= 0 && !isPlaceholder(w[i + 1])) need(exists(w[i + 1]), `pulumi ${flag} ${w[i + 1]}: no such path`);
      }
    }
  }
  return problems;
}
