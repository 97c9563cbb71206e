import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DEPLOY_DOCUMENT, DOCUMENT_PARAMETERS } from '#core/spec.ts';

export const DEPLOY_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'documents', 'deploy-application.sh');

/** What each parameter is, for the console; the patterns are the spec's own (DOCUMENT_PARAMETERS). */
const DESCRIPTIONS: Readonly<Record<string, string>> = {
  app: 'Application name',
  environment: 'Environment name',
  version: 'Version to install',
  action: 'deploy or rollback',
};

/**
 * The project's own Command document. Its parameters reach the script as
 * environment variables (interpolationType ENV_VAR), never as text spliced into
 * it, each checked by an allowedPattern that is the spec's own pattern for it.
 */
export class DeployDocument extends Construct {
  public readonly documentName = DEPLOY_DOCUMENT;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const parameters = Object.fromEntries(
      Object.entries(DOCUMENT_PARAMETERS[DEPLOY_DOCUMENT]).map(([name, { pattern }]) => {
        const description = DESCRIPTIONS[name];
        // SSM compiles allowedPattern without flags: a pattern that needs one would check something else there.
        if (description === undefined || pattern.flags !== '')
          throw new Error(`${DEPLOY_DOCUMENT}: parameter ${name} needs a description and a pattern without flags`);
        const parameter = { type: 'String', description, allowedPattern: pattern.source, interpolationType: 'ENV_VAR' };
        return [name, name === 'action' ? { ...parameter, default: 'deploy' } : parameter];
      }),
    );
    new ssm.CfnDocument(this, 'Document', {
      name: DEPLOY_DOCUMENT,
      documentType: 'Command',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content: {
        schemaVersion: '2.2',
        description: 'deployctl: installs (or rolls back to) a version of an application on this host',
        parameters,
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
