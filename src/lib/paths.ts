import { fileURLToPath } from 'node:url';

/** The repository root, from both src/ (tsx) and dist/ (compiled): both sit one level below it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
