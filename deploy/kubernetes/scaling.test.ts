/**
 * The scaling rule without a cluster: KEDA's Kafka scaler and the HPA (scaling.ts), driven with the
 * ScaledObject as rendered and the consumer-group lag the fault harness's scale-out scenario produced
 * (docs/reliability.md: the backlog each partition held when the first central instance started).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kustomizeCommand, render } from './render.ts';
import { hpaReplicas, kafkaLagMetric, scaleUpSteps, type HpaBounds, type KafkaTrigger, type PartitionOffsets } from './scaling.ts';

/** Records per partition of the bins topic, nothing committed yet: `npm run chaos -- --scale full --scenario scale-out` (300,000 bins). */
const FULL_SCALE_BACKLOG = [8400, 4200, 4200, 2400, 4800, 6000];
/** The same at small scale (2,880 bins): the CI run. */
const SMALL_SCALE_BACKLOG = [60, 75, 149, 15, 15, 0];

const fresh = (records: number[]): PartitionOffsets[] => records.map((latest) => ({ latest, committed: null }));

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';

describe.skipIf(!kustomizeCommand() && !required)('central scaling on lag (KEDA Kafka scaler, HPA)', () => {
  const rule = (overlay: string): { trigger: KafkaTrigger; bounds: HpaBounds } => {
    const o = render(join(import.meta.dirname, 'overlays', overlay)).find((x) => x.kind === 'ScaledObject')!;
    const spec = o.spec as {
      minReplicaCount: number; maxReplicaCount: number; triggers: { metadata: Record<string, string> }[];
      advanced: { horizontalPodAutoscalerConfig: { behavior: Record<'scaleUp' | 'scaleDown', { policies: { type: string; value: number; periodSeconds: number }[] }> } };
    };
    const m = spec.triggers[0]!.metadata;
    const pods = (way: 'scaleUp' | 'scaleDown') => spec.advanced.horizontalPodAutoscalerConfig.behavior[way].policies.find((p) => p.type === 'Pods')!.value;
    return {
      trigger: {
        lag_threshold: Number(m.lagThreshold), allow_idle_consumers: m.allowIdleConsumers === 'true',
        offset_reset: m.offsetResetPolicy as 'earliest' | 'latest', scale_to_zero_on_invalid_offset: m.scaleToZeroOnInvalidOffset === 'true',
      },
      bounds: { min: spec.minReplicaCount, max: spec.maxReplicaCount, pods_per_period: pods('scaleUp'), pods_down_per_period: pods('scaleDown') },
    };
  };
  const city = rule('city');
  /** The base's rule on the harness's 6 partitions: the city overlay with the base's maximum. */
  const six: typeof city = { trigger: city.trigger, bounds: { ...city.bounds, max: 6 } };

  it("asks for three instances for the full-scale scale-out backlog, one for the CI run's", () => {
    const full = kafkaLagMetric(fresh(FULL_SCALE_BACKLOG), six.trigger);
    expect(full).toBe(30_000);
    expect(scaleUpSteps(1, full, six.trigger.lag_threshold, six.bounds)).toEqual([1, Math.ceil(30_000 / six.trigger.lag_threshold)]);
    expect(scaleUpSteps(1, kafkaLagMetric(fresh(SMALL_SCALE_BACKLOG), six.trigger), six.trigger.lag_threshold, six.bounds)).toEqual([1]);
  });

  it('never asks for more instances than the topic has partitions', () => {
    // Ten times the harness's backlog on the same six partitions: the scaler caps the lag it reports.
    const huge = kafkaLagMetric(fresh(FULL_SCALE_BACKLOG.map((n) => n * 10)), six.trigger);
    expect(huge).toBe(6 * six.trigger.lag_threshold);
    expect(scaleUpSteps(1, huge, six.trigger.lag_threshold, six.bounds).at(-1)).toBe(6);
    // Just under seven thresholds passes the cap (KEDA divides in integers) and would ask for a seventh pod,
    // with no partition to give it: maxReplicaCount, equal to the partitions, is what stops it.
    const edge = kafkaLagMetric(fresh([7 * six.trigger.lag_threshold - 1, 0, 0, 0, 0, 0]), six.trigger);
    expect(edge).toBe(7 * six.trigger.lag_threshold - 1);
    expect(hpaReplicas(6, edge, six.trigger.lag_threshold, { ...six.bounds, max: 100 })).toBe(7);
    expect(hpaReplicas(6, edge, six.trigger.lag_threshold, six.bounds)).toBe(6);
    // The city's 12 partitions after an hour's outage of 10,000 stations (2.4 million bins, about 10 per record,
    // as in the harness): 12 instances, in steps of the scale-up policy.
    const hour = Array.from({ length: 12 }, () => ({ latest: 20_000, committed: null }));
    const steps = scaleUpSteps(1, kafkaLagMetric(hour, city.trigger), city.trigger.lag_threshold, city.bounds);
    expect(steps.at(-1)).toBe(12);
    for (let i = 1; i < steps.length; i++) expect(steps[i]! - steps[i - 1]!).toBeLessThanOrEqual(city.bounds.pods_per_period);
  });

  it('counts what the group has committed, and holds still within the HPA tolerance', () => {
    // Half of each partition stored and committed: 15,000 records of lag left.
    const half = FULL_SCALE_BACKLOG.map((n) => ({ latest: n, committed: n / 2 }));
    const metric = kafkaLagMetric(half, six.trigger);
    expect(metric).toBe(15_000);
    expect(hpaReplicas(3, metric, six.trigger.lag_threshold, six.bounds)).toBe(2);
    // 10 % either side of the target per instance: no change.
    expect(hpaReplicas(2, 2 * six.trigger.lag_threshold * 1.08, six.trigger.lag_threshold, six.bounds)).toBe(2);
    expect(hpaReplicas(2, 2 * six.trigger.lag_threshold * 1.2, six.trigger.lag_threshold, six.bounds)).toBe(3);
    // A quiet city: no lag; down towards the minimum one pod per period of the scale-down policy.
    const quiet = kafkaLagMetric(FULL_SCALE_BACKLOG.map((n) => ({ latest: n, committed: n })), six.trigger);
    expect(quiet).toBe(0);
    expect(hpaReplicas(4, quiet, six.trigger.lag_threshold, six.bounds)).toBe(4 - six.bounds.pods_down_per_period);
    // A partition never committed counts whole with earliest, as 1 with latest.
    expect(kafkaLagMetric(fresh([500]), { ...six.trigger, offset_reset: 'latest' })).toBe(1);
  });
});
