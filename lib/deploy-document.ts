import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DEPLOY_DOCUMENT } from '../lambdas/core/spec.ts';

export const DEPLOY_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'documents', 'deploy-application.sh');

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';
const VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$';

/**
 * The project's own Command document. Its parameters reach the script as
 * environment variables (interpolationType ENV_VAR), each checked by allowedPattern.
 */
export class DeployDocument extends Construct {
  public readonly documentName = DEPLOY_DOCUMENT;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const param = (description: string, allowedPattern: string) => ({
      type: 'String',
      description,
      allowedPattern,
      interpolationType: 'ENV_VAR',
    });
    new ssm.CfnDocument(this, 'Document', {
      name: DEPLOY_DOCUMENT,
      documentType: 'Command',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content: {
        schemaVersion: '2.2',
        description: 'deployctl: installs (or rolls back to) a version of an application on this host',
        parameters: {
          app: param('Application name', NAME_PATTERN),
          environment: param('Environment name', NAME_PATTERN),
          version: param('Version to install', VERSION_PATTERN),
          action: { ...param('deploy or rollback', '^(deploy|rollback)$'), default: 'deploy' },
        },
        mainSteps: [
          {
            action: 'aws:runShellScript',
            name: 'deploy',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { runCommand: readFileSync(DEPLOY_SCRIPT, 'utf8').split('\n') },
          },
        ],
      },
    });
  }
}
