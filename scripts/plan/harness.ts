import * as pulumi from "@pulumi/pulumi";
import { callerIdentity, computedIds, computedOutputs, invokeResults } from "./mock-outputs";
import { readStackConfig } from "./stack-config";

/** One resource the program declared, as the engine (and a policy pack) would see it. */
export interface DeclaredResource {
  type: string;
  name: string;
  urn: string;
  /** URN of the parent component, if any. */
  parent?: string;
  /** Inputs, as the program passed them (outputs resolved under mocks). */
  inputs: Record<string, any>;
  custom: boolean;
  provider?: string;
  protect: boolean;
  /** How long the engine waits on create and update (`customTimeouts`), when the program set it. */
  customTimeouts?: { create?: string; update?: string; delete?: string };
  dependencies: string[];
  /** URNs each input property depends on (`{ bucket: [<bucket urn>] }`), as the engine hands them to stack policies. */
  propertyDependencies: Record<string, string[]>;
  /** Paths (a.b.0.c) of inputs that were Pulumi secrets; `inputs` holds their plain values. */
  secretPaths: string[];
  /** The id and output state the (mocked) provider returned: what a stack policy sees after an update. */
  id?: string;
  state: Record<string, any>;
}

export interface PlanResult {
  project: string;
  stack: string;
  resources: DeclaredResource[];
  outputs: Record<string, unknown>;
  /** Names of the stack outputs that are Pulumi secrets (shown as [secret] by the CLI). */
  secretOutputs: string[];
  config: Record<string, string>;
}

export interface RunOptions {
  stack: string;
  /** Extra or changed `namespace:key` values on top of the stack file (structured values as JSON). */
  overrides?: Record<string, string>;
  /** Extra or changed values that are Pulumi secrets (as `pulumi config set --secret` leaves them). */
  secretOverrides?: Record<string, string>;
  /** Keys to remove from the stack's config, to test missing values. */
  remove?: string[];
  /**
   * Run as `pulumi preview` (the default: what a pull request checks) or, with false, as `pulumi up`
   * (a deployment: placeholder image digests are refused).
   */
  preview?: boolean;
  /** The identity running the program (an STS session ARN), as getCallerIdentity answers it. */
  callerArn?: string;
}

type Program = () => Promise<Record<string, unknown>>;

/**
 * Runs the stack program under Pulumi's mocks (the unit-testing mode Pulumi documents) with the
 * stack's real config, and returns every resource it declared. No cloud, no Pulumi CLI.
 */
export async function runProgram(options: RunOptions, loadProgram: () => Program = defaultProgram): Promise<PlanResult> {
  const stackConfig = readStackConfig(options.stack);
  const config = { ...stackConfig.config, ...(options.overrides ?? {}), ...(options.secretOverrides ?? {}) };
  for (const key of options.remove ?? []) delete config[key];
  const overridden = new Set(Object.keys(options.overrides ?? {}));
  const secretKeys = [...stackConfig.secretKeys.filter((k) => !overridden.has(k)), ...Object.keys(options.secretOverrides ?? {})];
  pulumi.runtime.setAllConfig(config, secretKeys);

  const resources: DeclaredResource[] = [];
  const created = new Map<string, { id?: string; state: Record<string, any> }>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const computed = computedOutputs[args.type]?.(args) ?? {};
        // Providers auto-name resources whose name input is unset; the mock names them after the resource.
        const state = { name: args.name, ...args.inputs, ...computed };
        const id = args.custom === false ? undefined : (computedIds[args.type]?.(state) ?? `${args.name}-id`);
        created.set(`${args.type}::${args.name}`, { id, state });
        return { id, state };
      },
      call: (args) => {
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity" && options.callerArn) return callerIdentity(options.callerArn);
        return invokeResults[args.token]?.(args) ?? args.inputs;
      },
    },
    stackConfig.project,
    options.stack,
    options.preview ?? true,
  );
  recordRegistrations(resources, created, options.preview ?? true);

  const program = loadProgram();
  const exported = await program();
  const { outputs, secretOutputs } = await resolveAll(exported);
  await waitForRegistrations();
  return { project: stackConfig.project, stack: options.stack, resources, outputs, secretOutputs, config };
}

function defaultProgram(): Program {
  // Loaded lazily so that a config error surfaces from runProgram, and the cloud SDKs load once.
  return (require("../../infra/program") as { main: Program }).main;
}

/** Wraps the mock monitor so that every registration records its parent, options and URN. */
function recordRegistrations(into: DeclaredResource[], created: Map<string, { id?: string; state: Record<string, any> }>, keepUnknowns: boolean): void {
  const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor: () => any };
  const rpc = require("@pulumi/pulumi/runtime/rpc") as { deserializeProperties: (s: unknown, keepUnknowns?: boolean) => Record<string, any> };
  const monitor = settings.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: unknown, res: any) => void) => {
    const secretPaths: string[] = [];
    const inputs = unwrapSecrets(rpc.deserializeProperties(req.getObject(), keepUnknowns), "", secretPaths) as Record<string, any>;
    register(req, (err: unknown, res: any) => {
      if (!err && res) {
        into.push({
          type: req.getType(),
          name: req.getName(),
          urn: res.getUrn(),
          parent: req.getParent() || undefined,
          inputs,
          custom: req.getCustom(),
          provider: req.getProvider() || undefined,
          protect: Boolean(req.getProtect?.()),
          customTimeouts: customTimeoutsOf(req),
          dependencies: req.getDependenciesList?.() ?? [],
          propertyDependencies: propertyDependenciesOf(req),
          secretPaths,
          ...(created.get(`${req.getType()}::${req.getName()}`) ?? { state: {} }),
        });
      }
      callback(err, res);
    });
  };
}

function customTimeoutsOf(req: any): DeclaredResource["customTimeouts"] {
  const t = req.getCustomtimeouts?.();
  if (!t) return undefined;
  const pick = (v: string | undefined) => (v ? v : undefined);
  const result = { create: pick(t.getCreate?.()), update: pick(t.getUpdate?.()), delete: pick(t.getDelete?.()) };
  return result.create || result.update || result.delete ? result : undefined;
}

function propertyDependenciesOf(req: any): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  req.getPropertydependenciesMap?.()?.forEach((deps: { getUrnsList: () => string[] }, key: string) => {
    result[key] = deps.getUrnsList();
  });
  return result;
}

// The engine's wire marker of a secret value: { [SIG_KEY]: SECRET_SIG, value }.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function unwrapSecrets(value: unknown, path: string, secretPaths: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, path ? `${path}.${i}` : String(i), secretPaths));
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  if (record[SIG_KEY] === SECRET_SIG) {
    secretPaths.push(path);
    return unwrapSecrets(record.value, path, []);
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v, path ? `${path}.${k}` : k, secretPaths)]));
}

async function waitForRegistrations(): Promise<void> {
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
  await settings.waitForRPCs();
  // Resources declared inside apply callbacks register on later turns: settle until quiet.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    await settings.waitForRPCs();
  }
}

async function resolveAll(exported: Record<string, unknown>): Promise<{ outputs: Record<string, unknown>; secretOutputs: string[] }> {
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(exported ?? {})) {
    const output = pulumi.output(value as any) as pulumi.Output<unknown>;
    outputs[key] = await new Promise((resolve) => output.apply(resolve));
    if (await (output as unknown as { isSecret: Promise<boolean> }).isSecret) secretOutputs.push(key);
  }
  return { outputs, secretOutputs };
}
