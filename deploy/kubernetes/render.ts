/**
 * Rendering a kustomization as Kubernetes would receive it: `kubectl kustomize` (kubectl 1.27 or newer) or a
 * standalone `kustomize build`, whichever is installed. For the manifest tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

function found(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** The command that renders a kustomization directory, or null when neither kubectl nor kustomize is installed. */
export function kustomizeCommand(): string[] | null {
  if (found('kustomize', ['version'])) return ['kustomize', 'build'];
  if (found('kubectl', ['kustomize', '--help'])) return ['kubectl', 'kustomize'];
  return null;
}

export function render(dir: string): K8sObject[] {
  const cmd = kustomizeCommand();
  if (!cmd) throw new Error('rendering needs kubectl (1.27 or newer) or kustomize on the PATH');
  const text = execFileSync(cmd[0]!, [...cmd.slice(1), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject).filter((o) => o !== null);
}
