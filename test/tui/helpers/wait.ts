// Moved to test/helpers/wait.ts (the one bounded waitFor of every test); kept for importers not yet switched.
export { waitFor } from '../../helpers/wait.ts';
