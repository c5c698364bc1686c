// Every escape probe that a pooled sandbox can take (suite.ts poolRefusal: not the exec-allowlist
// rows, which are never pooled, nor the --tty ones) run inside a sandbox that was built, enforced,
// verified and left waiting before its command arrived (native --await-argv, issue 23): it must be
// stopped exactly as in a fresh sandbox (sandboxed.test.ts). Never skipped.
import { defineProbeSuite } from './suite.ts';

defineProbeSuite('pooled');
