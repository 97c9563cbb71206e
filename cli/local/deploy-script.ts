import * as path from 'node:path';

/**
 * The script the project's Command document runs on each host
 * (documents/deploy-application.sh): the same file lib/deploy-document.ts
 * ships, read by the local fleet without loading the CDK construct.
 */
export const DEPLOY_SCRIPT = path.join(import.meta.dirname, '..', '..', 'documents', 'deploy-application.sh');
