import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime";

/** What the cloud computes for a resource (ids, ARNs, endpoints), merged over its inputs. */
export type ComputedOutputs = (args: MockResourceArgs) => Record<string, unknown>;
/** The id the cloud derives from a resource's state (an S3 bucket's id is its name). */
export type ComputedId = (state: Record<string, any>) => string;
/** A data-source call (invoke), answered as the cloud would. */
export type InvokeResult = (args: MockCallArgs) => Record<string, unknown>;

/** One provider's mocks, keyed by resource type token / invoke token. */
export interface ProviderMocks {
  computedOutputs: Record<string, ComputedOutputs>;
  computedIds: Record<string, ComputedId>;
  invokeResults: Record<string, InvokeResult>;
}
