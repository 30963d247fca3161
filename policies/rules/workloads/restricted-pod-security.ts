import { resourceRule } from "../support/define";
import { podSecurityStandards } from "../support/frameworks";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

/** Volume types the restricted standard allows. */
const ALLOWED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
/** Sysctls the baseline standard allows (namespaced and safe). */
const SAFE_SYSCTLS = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"];

export const workloadsRestrictedPodSecurity = resourceRule(
  {
    name: "workloads-restricted-pod-security",
    description:
      "Pods meet the restricted Pod Security Standard (besides running as non-root, its own rule): no privileged containers, no privilege escalation, every capability dropped (only NET_BIND_SERVICE may be added), a RuntimeDefault or Localhost seccomp profile, no host network, PID or IPC namespace, no host ports, no hostPath or other node-level volumes, the default /proc mount and only safe sysctls. Checked on the declared spec, before an admission controller would refuse the pod at rollout.",
    severity: "high",
    framework: podSecurityStandards("Baseline and Restricted controls except Running as Non-root"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "On every container: securityContext {allowPrivilegeEscalation: false, privileged: false, capabilities: {drop: [\"ALL\"]}, seccompProfile: {type: \"RuntimeDefault\"}}; on the pod: no hostNetwork/hostPID/hostIPC, volumes of the allowed types only.",
  },
  forWorkloads((workload, _args, report) => {
    const spec = workload.podSpec;
    if (!spec) return;
    const at = workload.label;
    const pod = spec.securityContext ?? {};
    for (const host of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[host] === true) report(`${at}: the pod shares the node's ${host.slice(4)} namespace (${host})`);
    for (const volume of spec.volumes ?? []) {
      const kind = Object.keys(volume).find((k) => k !== "name");
      if (kind && !ALLOWED_VOLUMES.includes(kind)) report(`${at}: volume "${volume.name}" is a ${kind} volume; restricted pods use ${ALLOWED_VOLUMES.join(", ")}`);
    }
    for (const sysctl of pod.sysctls ?? []) if (!SAFE_SYSCTLS.includes(sysctl.name)) report(`${at}: the pod sets the unsafe sysctl ${sysctl.name}`);
    for (const ref of workload.containers) {
      const c = `${at}: ${describeContainer(ref)}`;
      const sc = ref.container.securityContext ?? {};
      if (sc.privileged === true) report(`${c} is privileged`);
      if (sc.allowPrivilegeEscalation !== false) report(`${c} may escalate privileges: set allowPrivilegeEscalation false`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) report(`${c} keeps the default Linux capabilities: drop ["ALL"]`);
      const added = (sc.capabilities?.add ?? []).filter((cap: string) => cap !== "NET_BIND_SERVICE");
      if (added.length) report(`${c} adds the capabilities ${added.join(", ")}`);
      const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
      if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") report(`${c} runs without a seccomp profile (${seccomp ?? "unset"}): set seccompProfile.type "RuntimeDefault"`);
      if (sc.procMount !== undefined && sc.procMount !== "Default") report(`${c} unmasks /proc (procMount ${sc.procMount})`);
      const ports = (ref.container.ports ?? []).filter((p: { hostPort?: number }) => p.hostPort !== undefined && p.hostPort !== 0);
      if (ports.length) report(`${c} binds host port(s) ${ports.map((p: { hostPort: number }) => p.hostPort).join(", ")}`);
    }
  }),
);
