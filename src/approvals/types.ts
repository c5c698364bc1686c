// The approvals component's light door (design.md "Component map"): what a client needs to say
// that no queue answers, without loading the queue or node:http (`nemoclaw approvals list` on a
// machine where nothing serves the queue; issue 23).

export class ApprovalsUnavailableError extends Error {}

/** Nothing serves the approval queue at socketPath (no socket, or nobody listening on it). */
export function noQueueError(socketPath: string): ApprovalsUnavailableError {
  return new ApprovalsUnavailableError(`no approval queue is being served at ${socketPath}: start \`nemoclaw serve\` (or the TUI), which owns the queue`);
}
