import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../scripts/test-env.js";

/** What the playground loads in the browser: the page's modules, which pull in the packages. */
const ENTRIES = ["session.ts", "object-file.ts", "hex.ts", "examples.ts", "share.ts"].map((f) =>
  join(repoRoot, "apps", "docs", "playground", f),
);
const NODE_BUILTINS = new Set(builtinModules);
/** Globals that exist in Node only. */
const NODE_GLOBALS = new Set(["Buffer", "process", "require", "__dirname", "__filename", "global"]);

interface Finding {
  file: string;
  line: number;
  what: string;
}

/** `@bpfkit/x` or `@bpfkit/x/sub` to the TypeScript source its package.json exports under "source". */
function resolveWorkspace(specifier: string): string | undefined {
  const m = /^@bpfkit\/([^/]+)(\/.*)?$/.exec(specifier);
  if (!m) return undefined;
  const dir = join(repoRoot, "packages", m[1] as string);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    exports: Record<string, { source?: string }>;
  };
  const source = pkg.exports[`.${m[2] ?? ""}`]?.source;
  return source === undefined ? undefined : join(dir, source);
}

function resolveRelative(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier.replace(/\.js$/, ""));
  for (const candidate of [`${base}.ts`, join(base, "index.ts"), base])
    if (existsSync(candidate)) return candidate;
  throw new Error(`${relative(repoRoot, from)}: cannot resolve ${specifier}`);
}

/**
 * Walks the runtime import graph from `entries` (type-only imports are erased, so they are not
 * followed) and reports Node built-in imports, Node-only globals and imports from outside the
 * workspace.
 */
export function scanImportGraph(entries: string[]): { files: string[]; findings: Finding[] } {
  const seen = new Set<string>();
  const findings: Finding[] = [];
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const declared = declaredNames(sf);
    const at = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    const report = (node: ts.Node, what: string) =>
      findings.push({ file: relative(repoRoot, file), line: at(node), what });
    const follow = (node: ts.Node, specifier: string) => {
      if (specifier.startsWith(".")) queue.push(resolveRelative(file, specifier));
      else if (specifier.startsWith("node:") || NODE_BUILTINS.has(specifier.split("/")[0] as string))
        report(node, `imports ${specifier}`);
      else {
        const target = resolveWorkspace(specifier);
        if (target === undefined) report(node, `imports ${specifier}, which is not a workspace package`);
        else queue.push(target);
      }
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        if (!node.importClause?.isTypeOnly) follow(node, node.moduleSpecifier.text);
      } else if (
        ts.isExportDeclaration(node) &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        if (!node.isTypeOnly) follow(node, node.moduleSpecifier.text);
      } else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] !== undefined &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        follow(node, node.arguments[0].text);
      } else if (
        ts.isIdentifier(node) &&
        NODE_GLOBALS.has(node.text) &&
        !declared.has(node.text) &&
        isGlobalUse(node)
      ) {
        report(node, `uses ${node.text}`);
      }
      if (ts.isTypeNode(node)) return;
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { files: [...seen].map((f) => relative(repoRoot, f)).sort(), findings };
}

/**
 * Names the file declares itself (a local `function process()` is not Node's `process`). Scopes
 * are ignored: a file that both declares a name and uses the global of that name is not caught.
 */
function declaredNames(sf: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (
      (ts.isFunctionDeclaration(node) ||
        ts.isVariableDeclaration(node) ||
        ts.isParameter(node) ||
        ts.isClassDeclaration(node) ||
        ts.isBindingElement(node) ||
        ts.isImportSpecifier(node) ||
        ts.isImportClause(node)) &&
      node.name !== undefined &&
      ts.isIdentifier(node.name)
    )
      names.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return names;
}

/** The identifier names a global value: not a property name, member, declaration or type. */
function isGlobalUse(node: ts.Identifier): boolean {
  const p = node.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === node) return false;
  if (
    (ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p)) &&
    p.name === node
  )
    return false;
  if (ts.isPropertySignature(p) || ts.isMethodSignature(p)) return false;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p)) && p.name === node)
    return false;
  if (ts.isBindingElement(p) || ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) return false;
  return true;
}

describe("the packages the playground bundles are browser-safe", () => {
  const { files, findings } = scanImportGraph(ENTRIES);

  it("reach @bpfkit/bpf-isa, vm, object and btf but not the Node-only vmlinux loader", () => {
    for (const pkg of ["bpf-isa", "vm", "object", "btf"])
      expect(
        files.some((f) => f.startsWith(`packages/${pkg}/src/`)),
        pkg,
      ).toBe(true);
    expect(files).not.toContain("packages/btf/src/vmlinux-6.18.ts");
  });

  it("import no node: module and use no Buffer or process", () => {
    expect(findings.map((f) => `${f.file}:${f.line}: ${f.what}`)).toEqual([]);
  });

  it("would catch a Node-only module (the check can fail)", () => {
    const vmlinux = scanImportGraph([join(repoRoot, "packages", "btf", "src", "vmlinux-6.18.ts")]);
    expect(vmlinux.findings.map((f) => f.what)).toContain("imports node:fs");
    const cli = scanImportGraph([join(repoRoot, "apps", "cli", "src", "commands", "run.ts")]);
    expect(cli.findings.some((f) => f.what === "imports node:fs")).toBe(true);
    const fake = scanImportGraph([join(repoRoot, "apps", "docs", "test", "fixtures", "node-globals.ts")]);
    expect(fake.findings.map((f) => `${f.line}: ${f.what}`)).toEqual(["2: uses Buffer", "3: uses process"]);
  });
});
