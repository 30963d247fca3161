/**
 * The policy pack served the way the Pulumi CLI runs it: `policies/index.ts` in a child process (its
 * PolicyPack starts the analyzer's gRPC server and prints the port), driven over gRPC with the
 * requests the engine sends. The test process itself never constructs the PolicyPack.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { EnforcementLevel } from "@pulumi/policy";
import type { DeclaredResource } from "../../../scripts/plan/harness";
import type { Level, Violation } from "../../../scripts/plan/policy-engine";

const grpc = require("@grpc/grpc-js");
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const pb = require("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const LEVEL_TO_PROTO: Record<EnforcementLevel, number> = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };
const PROTO_TO_LEVEL: Record<number, Level> = { 0: "advisory", 1: "mandatory", 2: "disabled", 3: "mandatory" };

export interface ServedPack {
  info(): Promise<{ name: string; version: string; policies: { name: string; enforcementLevel: Level; severity: number }[] }>;
  configure(config: Map<string, { level: Level; params: Record<string, unknown> }>, stackTags: Record<string, string>): Promise<void>;
  /** analyze for every resource, then analyzeStack, as the engine does in an update. */
  run(resources: DeclaredResource[]): Promise<Violation[]>;
  stop(): void;
}

function call<T>(client: any, method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
}

/** Struct cannot hold undefined: drop it, as the engine's marshalling does. */
function struct(value: Record<string, any>) {
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(value)));
}

function options(r: DeclaredResource) {
  const o = new pb.AnalyzerResourceOptions();
  o.setProtect(r.protect);
  if (r.parent) o.setParent(r.parent);
  return o;
}

function provider(r: DeclaredResource, byUrn: Map<string, DeclaredResource>) {
  if (!r.provider) return undefined;
  const found = byUrn.get(r.provider.split("::").slice(0, -1).join("::"));
  if (!found) return undefined;
  const p = new pb.AnalyzerProviderResource();
  p.setType(found.type);
  p.setUrn(found.urn);
  p.setName(found.name);
  p.setProperties(struct(found.inputs));
  return p;
}

export async function servePack(): Promise<ServedPack> {
  const child: ChildProcess = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], { cwd: path.join(ROOT, "policies"), stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const line = /^(\d+)\s*$/m.exec(out);
      if (line) resolve(Number(line[1]));
    });
    child.on("exit", (code) => reject(new Error(`the policy pack exited (${code}) before serving: ${stderr}`)));
  });
  const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  return {
    async info() {
      const info = await call<any>(client, "getAnalyzerInfo", new Empty());
      return {
        name: info.getName(),
        version: info.getVersion(),
        policies: info.getPoliciesList().map((p: any) => ({ name: p.getName(), enforcementLevel: PROTO_TO_LEVEL[p.getEnforcementlevel()], severity: p.getSeverity() })),
      };
    },
    async configure(config, stackTags) {
      const request = new pb.ConfigureAnalyzerRequest();
      for (const [name, { level, params }] of config) {
        const c = new pb.PolicyConfig();
        c.setEnforcementlevel(LEVEL_TO_PROTO[level]);
        c.setProperties(struct(params));
        request.getPolicyconfigMap().set(name, c);
      }
      await call(client, "configure", request);
      const stack = new pb.AnalyzerStackConfigureRequest();
      for (const [k, v] of Object.entries(stackTags)) stack.getTagsMap().set(k, v);
      await call(client, "configureStack", stack);
    },
    async run(resources) {
      const byUrn = new Map(resources.map((r) => [r.urn, r]));
      const found: Violation[] = [];
      const collect = (diagnostics: any[], fallbackUrn: string) => {
        for (const d of diagnostics) {
          // The analyzer prefixes the rule's description to a reported message; the offline engine keeps the message alone.
          const prefix = `${d.getDescription()}\n`;
          const message: string = d.getMessage().startsWith(prefix) ? d.getMessage().slice(prefix.length) : d.getMessage();
          found.push({ policy: d.getPolicyname(), resource: d.getUrn() || fallbackUrn, message, level: PROTO_TO_LEVEL[d.getEnforcementlevel()] });
        }
      };
      for (const r of resources) {
        const request = new pb.AnalyzeRequest();
        request.setType(r.type);
        request.setUrn(r.urn);
        request.setName(r.name);
        request.setProperties(struct(r.inputs));
        request.setOptions(options(r));
        const p = provider(r, byUrn);
        if (p) request.setProvider(p);
        collect((await call<any>(client, "analyze", request)).getDiagnosticsList(), r.urn);
      }
      const stack = new pb.AnalyzeStackRequest();
      stack.setResourcesList(
        resources.map((r) => {
          const a = new pb.AnalyzerResource();
          a.setType(r.type);
          a.setUrn(r.urn);
          a.setName(r.name);
          a.setProperties(struct({ ...r.state, ...(r.custom && r.id ? { id: r.id } : {}) }));
          a.setOptions(options(r));
          if (r.parent) a.setParent(r.parent);
          a.setDependenciesList(r.dependencies);
          for (const [key, urns] of Object.entries(r.propertyDependencies)) {
            const deps = new pb.AnalyzerPropertyDependencies();
            deps.setUrnsList(urns);
            a.getPropertydependenciesMap().set(key, deps);
          }
          const p = provider(r, byUrn);
          if (p) a.setProvider(p);
          return a;
        }),
      );
      collect((await call<any>(client, "analyzeStack", stack)).getDiagnosticsList(), "stack");
      return found;
    },
    stop() {
      client.close();
      child.kill("SIGTERM");
    },
  };
}
