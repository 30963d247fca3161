/** What @pulumi/random computes, for Pulumi's mocks (every cloud's foundation uses it). */
import type { ProviderMocks } from "./types";

export const randomMocks: ProviderMocks = {
  computedOutputs: {
    "random:index/randomId:RandomId": (a) => ({ hex: Buffer.from(a.name).toString("hex").slice(-8), b64Url: Buffer.from(a.name).toString("base64url").slice(-6) }),
    "random:index/randomPassword:RandomPassword": (a) => ({ result: `offline-${a.name}-${"x".repeat(Number(a.inputs.length ?? 32))}`.slice(0, Number(a.inputs.length ?? 32) + 20) }),
  },
  computedIds: {},
  invokeResults: {},
};
