import type { Rule } from "../support/define";
import { endpointsTlsAndHostname } from "./tls-and-hostname";

/** What is reachable from outside the cluster: TLS and host names. */
export const endpointsRules: Rule[] = [endpointsTlsAndHostname];
