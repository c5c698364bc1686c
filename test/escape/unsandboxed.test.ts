// Every escape probe run directly on the host (as root, or as an unprivileged uid where the
// escape needs one) must report ESCAPED: this proves each probe detects the escape it tries.
import { defineProbeSuite } from './suite.ts';

defineProbeSuite('unsandboxed');
