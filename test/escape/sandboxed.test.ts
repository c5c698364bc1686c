// Every escape probe run inside `nemoclaw sandbox run` must be stopped: BLOCKED, or the outcome
// its row names (the sandbox refusing to start, or a kill by a limit). Never skipped.
import { defineProbeSuite } from './suite.ts';

defineProbeSuite('sandboxed');
