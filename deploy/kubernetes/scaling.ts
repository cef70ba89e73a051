/**
 * What KEDA's Kafka scaler and the HorizontalPodAutoscaler behind it decide, as plain functions, so the
 * ScaledObject in base/central.yaml can be checked without a cluster (scaling.test.ts) and docs/deploy.md can
 * say how fast it reacts.
 *
 * KEDA (pkg/scalers/kafka_scaler.go): a partition's lag is its latest offset less the group's committed one; a
 * partition the group has never committed counts its whole length when offsetResetPolicy is earliest, and 1
 * when it is latest (0 with scaleToZeroOnInvalidOffset). The metric is the sum over partitions; unless
 * allowIdleConsumers, when lag ÷ lagThreshold in integer division exceeds the partitions it is capped at
 * partitions × lagThreshold. Integer division lets a lag just under (partitions + 1) × lagThreshold through,
 * which asks for one pod more than there are partitions: only maxReplicaCount equal to the partitions keeps
 * that pod from existing. The HPA's target is lagThreshold as an average value: desired =
 * ceil(metric / lagThreshold), left alone within 10 % of the current count, then bounded by min and max replicas
 * and by the behaviour's policies (at most `pods_per_period` more, or `pods_down_per_period` fewer, per period;
 * a scale-down also waits out its stabilisation window, which these functions, taking one step at a time, do not
 * model).
 */

export interface KafkaTrigger {
  lag_threshold: number;
  allow_idle_consumers: boolean;
  offset_reset: 'earliest' | 'latest';
  scale_to_zero_on_invalid_offset?: boolean;
}

export interface PartitionOffsets {
  latest: number;
  /** The group's committed offset; null when it has none. */
  committed: number | null;
}

/** The metric KEDA reports to the HPA: the group's total lag, capped at partitions × threshold unless idle consumers are allowed. */
export function kafkaLagMetric(partitions: PartitionOffsets[], t: KafkaTrigger): number {
  const uncommitted = (latest: number): number => (t.offset_reset === 'earliest' ? latest : t.scale_to_zero_on_invalid_offset ? 0 : 1);
  const lags = partitions.map((p) => (p.committed === null ? uncommitted(p.latest) : Math.max(0, p.latest - p.committed)));
  const total = lags.reduce((a, b) => a + b, 0);
  if (!t.allow_idle_consumers && Math.floor(total / t.lag_threshold) > partitions.length) return partitions.length * t.lag_threshold;
  return total;
}

export interface HpaBounds {
  min: number;
  max: number;
  /** Scale-up policy: at most this many pods more per period (the ScaledObject's behavior). */
  pods_per_period: number;
  /** Scale-down policy: at most this many pods fewer per period. */
  pods_down_per_period: number;
  tolerance?: number;
}

/** The HPA's choice for an AverageValue external metric, from the current replica count. */
export function hpaReplicas(current: number, metric: number, target: number, b: HpaBounds): number {
  const tolerance = b.tolerance ?? 0.1;
  const ratio = metric / (target * Math.max(1, current));
  let desired = Math.abs(ratio - 1) <= tolerance ? current : Math.ceil(metric / target);
  desired = Math.min(b.max, Math.max(b.min, desired));
  return Math.max(current - b.pods_down_per_period, Math.min(desired, current + b.pods_per_period));
}

/** The replica counts the HPA passes through from `current`, one step per sync period, until it stops changing. */
export function scaleUpSteps(current: number, metric: number, target: number, b: HpaBounds): number[] {
  const steps = [current];
  for (;;) {
    const next = hpaReplicas(steps.at(-1)!, metric, target, b);
    if (next === steps.at(-1)) return steps;
    steps.push(next);
  }
}
