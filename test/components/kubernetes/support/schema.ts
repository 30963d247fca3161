import { existsSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * Validation of rendered objects against the Kubernetes OpenAPI schemas that kubernetes-models ships
 * (and the prometheus-operator CRD schemas of @kubernetes-models/prometheus-operator), strictly:
 *
 * 1. kubernetes-models' own validate(): types, formats, enums, required fields. Its compiled
 *    schemas do NOT reject unknown fields (the upstream OpenAPI documents have no
 *    additionalProperties: false), so a misspelled field would pass.
 * 2. Therefore each object is also type-checked, as an object literal, against the package's
 *    generated TypeScript interfaces (same schemas): TypeScript's excess-property check rejects
 *    every field the schema does not declare, at any depth, and names it.
 */
const ROOT = path.resolve(__dirname, "../../../..");
const NODE_MODULES = path.join(ROOT, "node_modules");

interface ModelModule {
  /** Module specifier (without extension) of the generated model. */
  specifier: string;
  kind: string;
  /** Absolute path of a schema module of this repository (custom resources kubernetes-models has no schema for). */
  file?: string;
}

/**
 * Custom resources without a kubernetes-models package: schema modules in ./crds, written from the CRDs
 * the pinned charts install, with the same shape (a class per kind with validate(), an I<Kind> interface).
 */
const LOCAL_CRD_MODULES: Record<string, string> = {
  "karpenter.sh/v1/NodePool": path.join(__dirname, "crds", "karpenter"),
  "karpenter.k8s.aws/v1/EC2NodeClass": path.join(__dirname, "crds", "karpenter"),
  "cert-manager.io/v1/Certificate": path.join(__dirname, "crds", "cert-manager"),
  "cert-manager.io/v1/ClusterIssuer": path.join(__dirname, "crds", "cert-manager"),
  "velero.io/v1/Schedule": path.join(__dirname, "crds", "velero"),
};

export function modelModule(apiVersion: string, kind: string): ModelModule | undefined {
  const local = LOCAL_CRD_MODULES[`${apiVersion}/${kind}`];
  if (local) return { specifier: local, kind, file: local };
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates =
    group === "monitoring.coreos.com"
      ? [`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}`]
      : [group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`];
  const specifier = candidates.find((c) => existsSync(path.join(NODE_MODULES, `${c}.d.ts`)));
  return specifier ? { specifier, kind } : undefined;
}

export interface SchemaProblem {
  object: string;
  message: string;
}

type Renderable = { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } };

const label = (o: Renderable) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name ?? "?"}`;

/** Only the Kubernetes body: the keys a manifest has (drops test bookkeeping such as `resource`). */
export function manifest(o: Record<string, any>): Record<string, any> {
  const { resource: _r, secretPaths: _s, ...body } = o;
  return body;
}

/** Runtime validation with kubernetes-models' compiled JSON-schema validators. */
export function runtimeValidate(objects: Renderable[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const o of objects) {
    const mod = modelModule(o.apiVersion, o.kind);
    if (!mod) {
      problems.push({ object: label(o), message: `no schema for ${o.apiVersion} ${o.kind}` });
      continue;
    }
    const Model = require(mod.file ?? path.join(NODE_MODULES, mod.specifier))[o.kind];
    try {
      new Model(manifest(o)).validate();
    } catch (err) {
      problems.push({ object: label(o), message: (err as Error).message });
    }
  }
  return problems;
}

/** Strict validation: every object as a literal of its schema's interface, compiled by TypeScript. */
export function strictValidate(objects: Renderable[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const lines: string[] = [];
  const spans: { start: number; end: number; object: string }[] = [];
  objects.forEach((o, i) => {
    const mod = modelModule(o.apiVersion, o.kind);
    if (!mod) {
      problems.push({ object: label(o), message: `no schema for ${o.apiVersion} ${o.kind}` });
      return;
    }
    lines.push(`import type { I${o.kind} as T${i} } from ${JSON.stringify(mod.specifier)};`);
    const body = JSON.stringify(manifest(o), null, 1).split("\n");
    const start = lines.length + 1;
    lines.push(`export const o${i}: T${i} = ${body[0]}`, ...body.slice(1));
    lines[lines.length - 1] += ";";
    spans.push({ start, end: lines.length, object: label(o) });
  });
  if (!spans.length) return problems;

  const file = path.join(ROOT, "__rendered_objects__.ts");
  const source = lines.join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
    skipLibCheck: true,
    lib: ["lib.es2022.d.ts"],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || path.resolve(d.file.fileName) !== file || d.start === undefined) {
      problems.push({ object: "(schema set-up)", message: text });
      continue;
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
    const span = spans.find((s) => line >= s.start && line <= s.end);
    const snippet = source.split("\n")[line - 1]?.trim();
    problems.push({ object: span?.object ?? `line ${line}`, message: `${text} (at: ${snippet})` });
  }
  return problems;
}

export function validateObjects(objects: Renderable[]): SchemaProblem[] {
  return [...runtimeValidate(objects), ...strictValidate(objects)];
}

/**
 * The Kubernetes minor version of the schemas kubernetes-models ships, found from fields that
 * appeared in a given release: Lifecycle.stopSignal (1.33) and PodSpec.hostnameOverride (1.34).
 */
export function schemaKubernetesVersion(): string {
  const read = (f: string) => require("node:fs").readFileSync(path.join(NODE_MODULES, "kubernetes-models", "v1", f), "utf8") as string;
  const lifecycle = read("Lifecycle.d.ts");
  const podSpec = read("PodSpec.d.ts");
  if (/"hostnameOverride"/.test(podSpec)) return "1.34+";
  if (/"stopSignal"/.test(lifecycle)) return "1.33";
  return "1.32-";
}
