// The sandbox component's only public door: compile a policy's SandboxSpec into helper argv,
// run the native helper, parse and verify its events, and check the host (doctor).
export type {
  HelperEvent,
  HelperEventType,
  ReadyEvent,
  EnforcementReport,
  LandlockReport,
  SeccompReport,
  CgroupReport,
  SyscallDeniedEvent,
  SyscallLoggedEvent,
  ExecAskEvent,
  ExecDeniedEvent,
  ExecAllowedEvent,
  LimitHitEvent,
  EgressConnectionEvent,
  EgressDirectEvent,
  EgressRefusedEvent,
  ErrorEvent,
  ExitEvent,
  UnknownEvent,
  ParseResult,
} from './events.ts';
export { parseHelperEvent, LineSplitter } from './events.ts';
export type { HelperArgvOptions, Bind, BindMode, SkippedPath } from './argv.ts';
export { specToHelperArgv, compileBinds, workloadEnv, SandboxConfigError, PROXY_URL, SANDBOX_PATH, PRIVATE_TMPFS } from './argv.ts';
export type { VerifyContext } from './verify.ts';
export { verifyEnforcement, enforcementWarnings, REQUIRED_NAMESPACES } from './verify.ts';
export { helperPath, defaultHelperPath, HelperMissingError, HELPER_ENV, helperInsideWritable, ROOT_MODE_HOST_ID } from './helper.ts';
export type { RunSandboxOptions, RunningSandbox, SandboxResult, SandboxEvent, ExecDecision, EndReason } from './run.ts';
export { runSandbox, newSandboxId, statusOf, SANDBOX_FAILED, NOT_FOUND, EVENTS_FD, CONTROL_FD } from './run.ts';
export { defaultSandboxSpec } from './defaults.ts';
export type { CheckStatus, CheckResult, DoctorContext, DoctorReport, UserNsFacts, CgroupFacts } from './doctor.ts';
export { runDoctor, doctorContext, CHECKS, kernelVerdict, landlockVerdict, seccompVerdict, userNsVerdict, cgroupVerdict, diskVerdict, dockerVerdict, dockerTarget } from './doctor.ts';
export type { DockerFacts } from './doctor.ts';
