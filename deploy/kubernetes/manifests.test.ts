/**
 * Both overlays (and the city with the HPA instead of KEDA), rendered by kustomize, checked against the
 * Kubernetes, KEDA, Prometheus Operator, cert-manager and CloudNativePG schemas, and for what a schema cannot
 * see: the command each container runs exists in the CLI with those options and its config file passes the
 * real config schema, every probe path is served on the port probed, every Secret and ConfigMap key used is
 * defined, the ScaledObject scales central on the group and topic central really uses, never past the
 * partitions, and the PrometheusRule holds the rules promtool tests.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CentralFileConfigSchema } from '../../central/file-config.ts';
import { buildHttp, type ApiSource } from '../../central/http/server.ts';
import { GatewayFileConfigSchema } from '../../gateway/file-config.ts';
import { GATEWAY_HTTP_PATHS, gatewayHttpHandler } from '../../gateway/http.ts';
import { expandEnv } from '../../platform/config-file.ts';
import { kafkaTopics } from '../../protocol/index.ts';
import { generatedFiles, GENERATED_DIR } from './generate.ts';
import { kustomizeCommand, render, type K8sObject } from './render.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '..', '..');
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const kustomize = kustomizeCommand();

/**
 * The city overlay with the HPA component instead of KEDA, as docs/deploy.md tells a cluster without KEDA to
 * apply it: the component, and its maxReplicas raised to the city's 12 partitions.
 */
function cityWithHpa(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-hpa-'));
  const at = (p: string) => relative(dir, join(HERE, p)); // kustomize takes relative paths only
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    stringify({
      resources: [at('overlays/city')],
      components: [at('components/hpa')],
      patches: [{ target: { kind: 'HorizontalPodAutoscaler', name: 'wacoflow-central' }, patch: '- op: replace\n  path: /spec/maxReplicas\n  value: 12\n' }],
    }),
  );
  return dir;
}

const VARIANTS: [string, () => string][] = [
  ['small', () => join(HERE, 'overlays', 'small')],
  ['city', () => join(HERE, 'overlays', 'city')],
  ['city with the HPA instead of KEDA', cityWithHpa],
];

/** The schema model for each apiVersion and kind the manifests use. */
const MODELS: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'cert-manager.io/v1': '@kubernetes-models/cert-manager/cert-manager.io/v1',
  'postgresql.cnpg.io/v1': '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1',
};

async function validateSchema(o: K8sObject): Promise<void> {
  if (o.apiVersion === 'kafka.strimzi.io/v1beta2' && o.kind === 'KafkaTopic') return validateKafkaTopic(o);
  const module = MODELS[o.apiVersion];
  if (!module) throw new Error(`${o.kind}/${o.metadata.name}: no schema known for ${o.apiVersion}`);
  const Model = ((await import(module)) as Record<string, new (data: unknown) => { validate(): void }>)[o.kind];
  if (!Model) throw new Error(`${o.kind}/${o.metadata.name}: ${o.apiVersion} has no kind ${o.kind}`);
  new Model(unwrapped(o)).validate();
}

/** kustomize prints long base64 values of a Secret over several lines (a reader joins them with spaces); `kubectl apply -k` hands them over unprinted. */
function unwrapped(o: K8sObject): K8sObject {
  if (o.kind !== 'Secret' || !o.data) return o;
  return { ...o, data: Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')])) };
}

/** No schema package for Strimzi runs on Node 20: the fields of KafkaTopic v1beta2 that the manifests use, by hand. */
function validateKafkaTopic(o: K8sObject): void {
  const spec = o.spec as { topicName?: unknown; partitions?: unknown; replicas?: unknown; config?: Record<string, unknown> };
  expect(Object.keys(spec).every((k) => ['topicName', 'partitions', 'replicas', 'config'].includes(k)), JSON.stringify(spec)).toBe(true);
  expect(spec.partitions).toSatisfy((n: unknown) => Number.isInteger(n) && (n as number) >= 1);
  expect(spec.replicas).toSatisfy((n: unknown) => Number.isInteger(n) && (n as number) >= 1);
  expect(o.metadata.labels?.['strimzi.io/cluster'], `${o.metadata.name}: strimzi.io/cluster label`).toBeTruthy();
  for (const v of Object.values(spec.config ?? {})) expect(['string', 'number', 'boolean']).toContain(typeof v);
}

const CLUSTER_SCOPED = new Set(['Namespace']);

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}
type Probe = { httpGet?: { path: string; port: string | number } };
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string; items?: { key: string; path: string }[] }; secret?: { secretName: string; items?: { key: string; path: string }[] }; emptyDir?: object }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  terminationGracePeriodSeconds?: number;
}

/** Secrets and ConfigMaps, by name, with their keys and decoded values; and those other resources make. */
function definedData(objects: K8sObject[]): Map<string, Map<string, string>> {
  const data = new Map<string, Map<string, string>>();
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'ConfigMap') data.set(id, new Map(Object.entries((o.data as Record<string, string>) ?? {})));
    if (o.kind === 'Secret') {
      const s = new Map(Object.entries((o.data as Record<string, string>) ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      for (const [k, v] of Object.entries((o.stringData as Record<string, string>) ?? {})) s.set(k, v);
      data.set(id, s);
    }
    // cert-manager writes the Certificate's key pair into its secretName.
    if (o.kind === 'Certificate') data.set(`Secret/${(o.spec as { secretName: string }).secretName}`, new Map([['tls.crt', 'PEM'], ['tls.key', 'PEM'], ['ca.crt', 'PEM']]));
    // CloudNativePG writes the application user's credentials into <cluster>-app.
    if (o.kind === 'Cluster' && o.apiVersion.startsWith('postgresql.cnpg.io/')) {
      const n = o.metadata.name;
      data.set(`Secret/${n}-app`, new Map(Object.entries({ username: 'app', password: 'x', host: `${n}-rw`, port: '5432', dbname: 'app', uri: `postgresql://app:x@${n}-rw:5432/app`, 'jdbc-uri': 'jdbc', pgpass: 'x' })));
    }
  }
  return data;
}

function deployments(objects: K8sObject[]): { name: string; pod: PodSpec; replicas?: number }[] {
  return objects
    .filter((o) => o.kind === 'Deployment')
    .map((o) => {
      const spec = o.spec as { replicas?: number; template: { spec: PodSpec } };
      return { name: o.metadata.name, pod: spec.template.spec, ...(spec.replicas !== undefined ? { replicas: spec.replicas } : {}) };
    });
}

const helpOf = new Map<string, string>();
function cliHelp(command: string): string {
  if (!helpOf.has(command)) helpOf.set(command, execFileSync(process.execPath, [join(ROOT, 'bin', 'wacoflow.js'), command, '--help'], { encoding: 'utf8' }));
  return helpOf.get(command)!;
}

/** The container's config file, as the process reads it: from the mounted ConfigMap, ${NAME} from its env. */
function containerConfig(c: Container, pod: PodSpec, data: Map<string, Map<string, string>>): { file: string; config: Record<string, unknown> } {
  const file = c.args![c.args!.indexOf('--config') + 1]!;
  const mount = c.volumeMounts!.find((m) => file === m.mountPath || file.startsWith(`${m.mountPath}/`));
  expect(mount, `${c.name}: --config ${file} is on no mounted volume`).toBeDefined();
  const volume = pod.volumes!.find((v) => v.name === mount!.name)!;
  expect(volume.configMap, `${c.name}: ${file} comes from a ConfigMap`).toBeDefined();
  const inVolume = mount!.subPath ?? file.slice(mount!.mountPath.length + 1);
  const item = volume.configMap!.items?.find((i) => i.path === inVolume);
  const text = data.get(`ConfigMap/${volume.configMap!.name}`)!.get(item?.key ?? inVolume);
  expect(text, `${c.name}: ${file} is not in ConfigMap ${volume.configMap!.name}`).toBeDefined();
  const env: NodeJS.ProcessEnv = {};
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
    env[e.name] = e.value ?? (ref ? data.get(`${e.valueFrom!.configMapKeyRef ? 'ConfigMap' : 'Secret'}/${ref.name}`)?.get(ref.key) : undefined);
  }
  const unset: string[] = [];
  const config = expandEnv(parse(text!), env, [], (path, name) => unset.push(`${path.join('.')}: ${name}`)) as Record<string, unknown>;
  expect(unset, `${c.name}: variables the container does not set`).toEqual([]);
  return { file, config };
}

/** Whether a GET of `path` is answered (not 404) by the process behind that port. */
async function served(process: 'central' | 'gateway', path: string): Promise<boolean> {
  if (process === 'central') {
    const app = buildHttp({ version: 'test', operator_token: null, registry: new Registry(), source: {} as ApiSource });
    try {
      return app.hasRoute({ method: 'GET', url: path });
    } finally {
      await app.close();
    }
  }
  const probe = () => ({ ok: true, checks: {} });
  const server = createServer(gatewayHttpHandler({ metrics: new Registry(), probe }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as { port: number };
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status !== 404;
  } finally {
    server.close();
  }
}

describe.skipIf(!kustomize && !required)('Kubernetes manifests', () => {
  it('the generated files are what deploy/kubernetes/generate.ts makes from their sources', () => {
    for (const [name, text] of generatedFiles()) expect(readFileSync(join(GENERATED_DIR, name), 'utf8'), `${name}: run npm run deploy:generate`).toBe(text);
  });

  for (const [variant, dir] of VARIANTS) {
    describe(variant, () => {
      const objects = render(dir());
      const data = definedData(objects);
      const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

      it('every object passes its schema and sits in its namespace', async () => {
        expect(objects.length).toBeGreaterThan(15);
        for (const o of objects) {
          await expect(validateSchema(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
          if (CLUSTER_SCOPED.has(o.kind)) continue;
          expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(o.kind === 'KafkaTopic' ? 'kafka' : 'wacoflow');
        }
      });

      it('each container runs a wacoflow command with options the CLI has, and a config the process accepts', () => {
        const schemas = { central: CentralFileConfigSchema, gateway: GatewayFileConfigSchema } as const;
        for (const { name, pod } of deployments(objects)) {
          for (const c of pod.containers) {
            // The image the Dockerfile builds, tagged with this release's version.
            expect(c.image, `${name}: the image`).toMatch(new RegExp(`(^|/)wacoflow:${VERSION.replaceAll('.', '\\.')}$`));
            const [command, ...options] = c.args!;
            expect(Object.keys(schemas), `${name}: wacoflow ${command}`).toContain(command);
            const help = cliHelp(command!);
            for (const o of options.filter((a) => a.startsWith('--'))) expect(help, `${name}: wacoflow ${command} ${o}`).toContain(o);
            const { file, config } = containerConfig(c, pod, data);
            const r = schemas[command as keyof typeof schemas].safeParse(config);
            expect(r.success ? [] : r.error.issues.map((i) => `${file}: ${i.path.join('.')}: ${i.message}`), name).toEqual([]);
          }
        }
      });

      it('every probe asks a path the process serves, on the port it listens on', async () => {
        for (const { name, pod } of deployments(objects)) {
          for (const c of pod.containers) {
            const command = c.args![0] as 'central' | 'gateway';
            const { config } = containerConfig(c, pod, data);
            const listening = command === 'central' ? (config.http_port as number) : (config.metrics_port as number);
            for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
              const get = c[kind]?.httpGet;
              expect(get, `${name}: ${kind}`).toBeDefined();
              const port = typeof get!.port === 'number' ? get!.port : c.ports!.find((p) => p.name === get!.port)?.containerPort;
              expect(port, `${name}: ${kind} port ${get!.port}`).toBe(listening);
              expect(await served(command, get!.path), `${name}: ${kind} GET ${get!.path}`).toBe(true);
            }
            if (command === 'gateway') expect(GATEWAY_HTTP_PATHS).toContain(c.readinessProbe!.httpGet!.path);
          }
        }
      });

      it('every Secret and ConfigMap key referenced is defined', () => {
        const refs: string[] = [];
        for (const { name, pod } of deployments(objects)) {
          for (const c of pod.containers) {
            for (const e of c.env ?? []) {
              if (e.valueFrom?.configMapKeyRef) refs.push(`${name}: ConfigMap/${e.valueFrom.configMapKeyRef.name} ${e.valueFrom.configMapKeyRef.key}`);
              if (e.valueFrom?.secretKeyRef) refs.push(`${name}: Secret/${e.valueFrom.secretKeyRef.name} ${e.valueFrom.secretKeyRef.key}`);
            }
          }
          for (const v of pod.volumes ?? []) {
            const [kind, ref] = v.configMap ? ['ConfigMap', v.configMap.name] : v.secret ? ['Secret', v.secret.secretName] : [null, null];
            if (!kind) continue;
            const items = (v.configMap ?? v.secret)!.items;
            expect(items, `${name}: volume ${v.name} lists the keys it mounts`).toBeDefined();
            for (const i of items!) refs.push(`${name}: ${kind}/${ref} ${i.key}`);
          }
        }
        for (const c of byKind('Cluster')) {
          const s3 = (c.spec as { backup?: { barmanObjectStore?: { s3Credentials?: Record<string, { name: string; key: string }> } } }).backup?.barmanObjectStore?.s3Credentials ?? {};
          for (const r of Object.values(s3)) refs.push(`Cluster/${c.metadata.name}: Secret/${r.name} ${r.key}`);
        }
        expect(refs.length).toBeGreaterThan(5);
        const missing = refs.filter((r) => {
          const [, id, key] = /^[^:]+: (\S+) (\S+)$/.exec(r)!;
          return !data.get(id!)?.has(key!);
        });
        expect(missing).toEqual([]);
      });

      it('pods run as non-root on a read-only root, with /tmp writable, requests and limits set', () => {
        for (const { name, pod } of deployments(objects)) {
          expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
          for (const c of pod.containers) {
            expect(c.securityContext, name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
            const tmp = c.volumeMounts!.find((m) => m.mountPath === '/tmp');
            expect(pod.volumes!.find((v) => v.name === tmp?.name)?.emptyDir, `${name}: /tmp (tsx's compile cache)`).toBeDefined();
            for (const r of ['cpu', 'memory']) {
              expect(c.resources?.requests?.[r], `${name}: requests.${r}`).toBeDefined();
              expect(c.resources?.limits?.[r], `${name}: limits.${r}`).toBeDefined();
            }
          }
        }
      });

      it('the gateway may finish its drain before Kubernetes kills it', () => {
        const gateway = deployments(objects).find((d) => d.pod.containers[0]!.args![0] === 'gateway')!;
        const { config } = containerConfig(gateway.pod.containers[0]!, gateway.pod, data);
        const parsed = GatewayFileConfigSchema.parse(config);
        // The drain, then up to 10 s for the producer to close (cli/commands/gateway-run.ts).
        expect(gateway.pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual((parsed.drain_ms ?? 5_000) + 10_000);
        expect(byKind('PodDisruptionBudget').map((p) => p.metadata.name)).toEqual(expect.arrayContaining(['wacoflow-gateway', 'wacoflow-central']));
      });

      it('central scales on the group and topic it consumes, never past the partitions', () => {
        const central = deployments(objects).find((d) => d.pod.containers[0]!.args![0] === 'central')!;
        const c = central.pod.containers[0]!;
        const config = CentralFileConfigSchema.parse(containerConfig(c, central.pod, data).config);
        const binsTopic = kafkaTopics(config.topic_prefix ?? null).bins;
        const topic = byKind('KafkaTopic').find((t) => (t.spec as { topicName: string }).topicName === binsTopic);
        const partitions = (topic?.spec as { partitions: number } | undefined)?.partitions ?? config.partitions.bins;
        expect(config.partitions.bins, 'central.yaml partitions.bins and the KafkaTopic agree').toBe(partitions);
        const gateway = deployments(objects).find((d) => d.pod.containers[0]!.args![0] === 'gateway')!;
        expect(GatewayFileConfigSchema.parse(containerConfig(gateway.pod.containers[0]!, gateway.pod, data).config).partitions.bins, 'gateway.yaml partitions.bins').toBe(partitions);

        const scaled = byKind('ScaledObject');
        const hpas = byKind('HorizontalPodAutoscaler');
        if (variant === 'small') {
          expect([scaled.length, hpas.length, central.replicas]).toEqual([0, 0, 1]);
          return;
        }
        expect(central.replicas, 'replicas are the autoscaler’s').toBeUndefined();
        if (variant.includes('HPA')) {
          expect(scaled).toEqual([]);
          const spec = hpas[0]!.spec as { scaleTargetRef: { name: string }; maxReplicas: number };
          expect(spec.scaleTargetRef.name).toBe(central.name);
          expect(spec.maxReplicas).toBe(partitions);
          return;
        }
        expect(hpas).toEqual([]);
        const spec = scaled[0]!.spec as { scaleTargetRef: { name: string }; maxReplicaCount: number; minReplicaCount: number; triggers: { type: string; metadata: Record<string, string> }[] };
        expect(spec.scaleTargetRef.name).toBe(central.name);
        expect(spec.maxReplicaCount).toBe(partitions);
        const t = spec.triggers[0]!;
        expect(t.type).toBe('kafka');
        expect(t.metadata).toMatchObject({ consumerGroup: config.group_id, topic: binsTopic, allowIdleConsumers: 'false', offsetResetPolicy: 'earliest' });
        // KEDA reads the brokers from the target container's environment: the one central itself uses.
        expect(c.env!.map((e) => e.name)).toContain(t.metadata.bootstrapServersFromEnv);
        const ref = c.env!.find((e) => e.name === t.metadata.bootstrapServersFromEnv)!.valueFrom!.configMapKeyRef!;
        expect(config.kafka_brokers).toEqual(data.get(`ConfigMap/${ref.name}`)!.get(ref.key)!.split(','));
      });

      it('Prometheus scrapes both processes and holds the rules promtool tests', () => {
        const rule = byKind('PrometheusRule')[0]!;
        const source = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'rules.yml'), 'utf8')) as { groups: unknown[] };
        expect((rule.spec as { groups: unknown[] }).groups).toEqual(source.groups);
        const monitor = byKind('ServiceMonitor')[0]!.spec as { selector: { matchExpressions: { values: string[] }[] }; endpoints: { port: string }[] };
        const names = monitor.selector.matchExpressions[0]!.values;
        for (const n of names) {
          const svc = byKind('Service').find((s) => s.metadata.labels?.['app.kubernetes.io/name'] === n && (s.spec as { type: string }).type === 'ClusterIP')!;
          const ports = (svc.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
          expect(monitor.endpoints.some((e) => ports.includes(e.port)), `${n}: a ServiceMonitor endpoint names a port of its Service`).toBe(true);
        }
        const dashboards = byKind('ConfigMap').find((m) => m.metadata.labels?.grafana_dashboard === '1')!;
        expect(Object.keys(dashboards.data as object).sort()).toEqual(['fleet.json', 'traffic.json']);
      });

      it('devices reach the gateway from outside only over TLS', () => {
        const publicServices = byKind('Service').filter((s) => (s.spec as { type: string }).type === 'LoadBalancer');
        expect(publicServices.flatMap((s) => (s.spec as { ports: { port: number }[] }).ports.map((p) => p.port))).toEqual([8883]);
        const gatewayPolicy = byKind('NetworkPolicy').find((p) => p.metadata.name === 'wacoflow-gateway')!.spec as { ingress: { from?: unknown[]; ports: { port: number }[] }[] };
        const open = gatewayPolicy.ingress.filter((r) => !r.from).flatMap((r) => r.ports.map((p) => p.port));
        expect(open).toEqual([8883]);
      });
    });
  }
});
