import { describe, expect, it } from 'vitest';
import { INITIAL_RUN, stepRun, validateRunRule, type Evidence, type RunRule, type RunState } from './run-state.ts';

const RULE: RunRule = { persist: 3, clear: 2, max_gap_ms: 15 };
const code: Record<string, Evidence> = { B: 'beyond', N: 'normal', '.': 'none' };

/** Feeds one window every 5 time units; returns "o@t" / "c@t(reason)" for each transition. */
function run(seq: string, rule: RunRule = RULE, times?: number[]): string[] {
  let s: RunState = { ...INITIAL_RUN };
  const out: string[] = [];
  [...seq].forEach((ch, i) => {
    const t = times?.[i] ?? i * 5;
    const step = stepRun(s, t, code[ch]!, rule);
    s = step.state;
    for (const tr of step.transitions) out.push(tr.to === 'open' ? `o@${t}<${tr.since_ms}` : `c@${t}<${tr.since_ms}(${tr.reason})`);
  });
  return out;
}

describe('stepRun', () => {
  it.each([
    // evidence per window, transitions, why
    ['BB', [], 'two windows do not open'],
    ['BBB', ['o@10<0'], 'the third opens, identified by the run start'],
    ['BBNBBB', ['o@25<15'], 'a normal window breaks the run'],
    ['BB.B', ['o@15<0'], 'a missing window neither breaks nor extends it'],
    ['BBBNN', ['o@10<0', 'c@20<0(cleared)'], 'two normals close'],
    ['BBBNBN', ['o@10<0'], 'a beyond window restarts the clearing count'],
    ['BBBBBBNN', ['o@10<0', 'c@35<0(cleared)'], 'one alert however long it lasts'],
    ['BBBNNBBB', ['o@10<0', 'c@20<0(cleared)', 'o@35<25'], 'a new episode is a new alert'],
    ['NNNN', [], 'normal traffic'],
  ])('%s → %j (%s)', (seq, expected) => {
    expect(run(seq)).toEqual(expected);
  });

  it('resets the run after a gap longer than max_gap_ms', () => {
    // beyond at 0, 5, then the next at 25: 20 > 15, so the run restarts and needs three more.
    expect(run('BBBBB', RULE, [0, 5, 25, 30, 35])).toEqual(['o@35<25']);
    // a gap of exactly max_gap_ms is tolerated
    expect(run('BBB', RULE, [0, 15, 30])).toEqual(['o@30<0']);
  });

  it('closes an open alert with reason gap when the evidence stops for too long', () => {
    expect(run('BBBN', RULE, [0, 5, 10, 100])).toEqual(['o@10<0', 'c@100<0(gap)']);
    expect(run('BBBBBB', RULE, [0, 5, 10, 100, 105, 110])).toEqual(['o@10<0', 'c@100<0(gap)', 'o@110<100']);
  });

  it('ignores late and repeated windows and says so', () => {
    let s = stepRun(INITIAL_RUN, 10, 'beyond', RULE).state;
    const late = stepRun(s, 5, 'beyond', RULE);
    const same = stepRun(s, 10, 'beyond', RULE);
    expect([late.stale, same.stale]).toEqual([true, true]);
    expect(late.state).toEqual(s);
    s = stepRun(s, 15, 'beyond', RULE).state;
    expect(s.beyond).toBe(2);
  });

  it('opens at once with persist 1', () => {
    expect(run('BN', { persist: 1, clear: 1, max_gap_ms: 15 })).toEqual(['o@0<0', 'c@5<0(cleared)']);
  });

  it.each([
    [{ persist: 0, clear: 1, max_gap_ms: 1 }],
    [{ persist: 1, clear: 1.5, max_gap_ms: 1 }],
    [{ persist: 1, clear: 1, max_gap_ms: 0 }],
  ])('rejects %j', (rule) => {
    expect(() => validateRunRule(rule, 'x')).toThrow(RangeError);
  });
});
