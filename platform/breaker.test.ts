import { describe, expect, it } from 'vitest';
import { Breaker } from './breaker.ts';

describe('Breaker', () => {
  it('opens after the threshold, lets one trial through after open_ms, and closes on success', () => {
    const b = new Breaker({ failure_threshold: 3, open_ms: 60_000 });
    b.failure(0);
    b.failure(1);
    expect(b.state(2)).toBe('closed');
    b.failure(2);
    expect([b.state(3), b.allows(3), b.wait(3)]).toEqual(['open', false, 59_999]);
    expect([b.state(60_002), b.allows(60_002)]).toEqual(['half_open', true]);
    b.success(60_002);
    expect(b.state(60_003)).toBe('closed');
    expect(b.transitions).toEqual({ open: 1, half_open: 1, closed: 1 });
  });

  it('re-opens at once when the half-open trial fails', () => {
    const b = new Breaker({ failure_threshold: 2, open_ms: 1_000 });
    b.failure(0);
    b.failure(0);
    expect(b.state(1_000)).toBe('half_open');
    b.failure(1_000);
    expect(b.state(1_001)).toBe('open');
    expect(b.wait(1_001)).toBe(999);
    expect(b.transitions).toEqual({ open: 2, half_open: 1, closed: 0 });
  });

  it('counts no trial for outcomes that arrive while it is open (requests started before it opened)', () => {
    const b = new Breaker({ failure_threshold: 1, open_ms: 1_000 });
    b.failure(0); // opens
    b.failure(10); // an earlier request failing late: still open, no new transition
    expect(b.transitions).toEqual({ open: 1, half_open: 0, closed: 0 });
    b.success(20); // an earlier request succeeding late closes it, without a trial
    expect([b.state(21), b.transitions]).toEqual(['closed', { open: 1, half_open: 0, closed: 1 }]);
  });
});
