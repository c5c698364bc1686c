// The persistence hook for "always" decisions: writes an allow or deny entry as a new policy
// revision through the policy engine's store. Callers then recompile and reload the proxy (the
// supervisor watches revisions); the rule also survives sandbox restarts, because the next
// sandbox starts from the store's current revision.
import type { PolicyStore } from '../policy/index.ts';
import type { PersistHook } from './queue.ts';

export function policyStorePersistHook(store: Pick<PolicyStore, 'addAlwaysRule'>, after?: () => Promise<void> | void): PersistHook {
  return async (item, decision) => {
    if (item.kind !== 'egress' || item.host === null || item.port === null) {
      throw new Error(`"always" is only recorded for egress approvals (this one is ${item.kind})`);
    }
    await store.addAlwaysRule({
      verdict: decision.verdict,
      host: item.host,
      port: item.port,
      binary: item.binary,
      author: decision.by.user,
      reason: `approval ${item.id} (${decision.verdict} always) from ${decision.by.origin}${item.method ? ` after ${item.method} ${item.path ?? '/'}` : ''}`,
    });
    await after?.();
  };
}
