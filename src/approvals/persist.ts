// The persistence hook for "always" decisions: writes an allow or deny entry as a new policy
// revision through the policy engine's store. Callers then recompile and reload the proxy (the
// supervisor watches revisions); the rule also survives sandbox restarts, because the next
// sandbox starts from the store's current revision.
//
// What is written (the revision's reason repeats it exactly):
//   egress, connection-level ask      allow: endpoint {host, port} for the binary
//                                     deny:  `action: deny` on {host, port} for the binary (or every program)
//   egress, request-level ask         allow: {host, port, protocol: rest, rules: [{allow: {method, path}}]}
//   (the item has method and path)    deny:  {host, port, protocol: rest, rules: [], deny_rules: [{method, path}]}
//                                     the path is literal (glob characters escaped); any query string matches
//   exec                              allow: the exact path appended to exec.allow (static: next creation)
//   tool (an agent's tool call)       allow: the tool's name appended to tools.allow (read at each ask)
//                                     deny:  the tool's name appended to tools.deny
// Refused (see alwaysRefusal in queue.ts): allow for an unknown binary, deny for exec.
import type { PolicyStore } from '../policy/index.ts';
import { alwaysRefusal } from './queue.ts';
import type { PersistHook } from './queue.ts';

export function policyStorePersistHook(store: Pick<PolicyStore, 'addAlwaysRule' | 'addExecAllow' | 'addToolRule'>, after?: () => Promise<void> | void): PersistHook {
  return async (item, decision) => {
    const refused = alwaysRefusal(item, decision.verdict);
    if (refused !== null) throw new Error(refused);
    const base = `approval ${item.id} (${decision.verdict} always) from ${decision.by.origin}`;
    if (item.kind === 'tool') {
      const tool = (item.tool as { name: string }).name; // alwaysRefusal: a tool item without a name is refused
      await store.addToolRule({ verdict: decision.verdict, tool, author: decision.by.user, reason: `${base} after a call of tool ${tool}` });
    } else if (item.kind === 'exec') {
      const path = item.binary as string; // alwaysRefusal: an exec item without a path is refused
      await store.addExecAllow({ path, author: decision.by.user, reason: `${base} after exec of ${path}` });
    } else {
      await store.addAlwaysRule({
        verdict: decision.verdict,
        host: item.host as string,
        port: item.port as number,
        binary: item.binary,
        ...(item.method !== null ? { request: { method: item.method, path: item.path ?? '/' } } : {}),
        author: decision.by.user,
        reason: `${base}${item.method !== null ? ` after ${item.method} ${item.path ?? '/'}` : ''}`,
      });
    }
    await after?.();
  };
}
