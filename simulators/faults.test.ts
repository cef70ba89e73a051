import { describe, expect, it } from 'vitest';
import { FaultPlan, parseFault, type FaultTarget } from './faults.ts';

const targets = new Map<string, FaultTarget>([['txdot-i35', 'http'], ['hwy6-radar', 'serial'], ['camera-vm-franklin', 'camera'], ['i35-nb-12th', 'station']]);

describe('fault options', () => {
  it('reads target, kind, start and length', () => {
    expect(parseFault('txdot-i35:outage@5+10', targets)).toEqual({ target: 'txdot-i35', kind: 'outage', start_min: 5, minutes: 10 });
    expect(parseFault('i35-nb-12th:stuck', targets)).toEqual({ target: 'i35-nb-12th', kind: 'stuck', start_min: 0, minutes: null });
  });

  it('refuses bad input in one line that names the choices', () => {
    expect(() => parseFault('txdot-i35:explode', targets)).toThrow(/unknown fault "explode"; choose one of outage, slow, hang, .*chatter$/);
    expect(() => parseFault('nowhere:outage', targets)).toThrow(/unknown target "nowhere"; choose an input \(txdot-i35, hwy6-radar\), camera-<intersection>, or a road station id/);
    expect(() => parseFault('txdot-i35:noise', targets)).toThrow(/"noise" does not apply to txdot-i35 \(a http device\); it applies to serial devices/);
    expect(() => parseFault('txdot-i35', targets)).toThrow(/expected TARGET:KIND/);
  });

  it('is active from its start for its length', () => {
    const plan = new FaultPlan([parseFault('txdot-i35:outage@5+10', targets)], 1_000_000);
    expect(plan.has('txdot-i35', 'outage', 1_000_000 + 4 * 60_000)).toBe(false);
    expect(plan.has('txdot-i35', 'outage', 1_000_000 + 5 * 60_000)).toBe(true);
    expect(plan.has('txdot-i35', 'outage', 1_000_000 + 15 * 60_000)).toBe(false);
    expect(plan.has('hwy6-radar', 'outage', 1_000_000 + 6 * 60_000)).toBe(false);
  });
});
