/** Hostile documents: each is refused with a clear reason, quickly, without growing memory without bound. */
import { describe, expect, it } from 'vitest';
import { isCoded } from '../../../platform/errors.ts';
import { parseDetectorData } from './parse.ts';

const opts = { time_zone: 'America/Chicago' };

function refused(xml: string, reason: RegExp): void {
  try {
    parseDetectorData(xml, opts);
  } catch (err) {
    expect(isCoded(err, 'WF_ERR_FEED_PARSE')).toBe(true);
    expect((err as Error).message).toMatch(reason);
    return;
  }
  throw new Error('document was accepted');
}

describe('hostile XML', () => {
  it('refuses entity expansion (billion laughs)', () => {
    const lol = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;">]>
<detectorDataMsg><detector-data-item><detector-data-list><detector-data-detail><detector-id>&lol9;</detector-id></detector-data-detail></detector-data-list></detector-data-item></detectorDataMsg>`;
    refused(lol, /DOCTYPE/);
  });

  it('refuses external entities', () => {
    refused(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><detectorDataMsg>&xxe;</detectorDataMsg>`, /DOCTYPE/);
  });

  it('refuses 2,000-deep nesting', () => {
    const deep = `<detectorDataMsg>${'<a>'.repeat(2_000)}${'</a>'.repeat(2_000)}</detectorDataMsg>`;
    refused(deep, /nested more than 64 deep/);
  });

  it('refuses binary garbage', () => {
    refused(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1'), /not well-formed|found|nested|DOCTYPE/);
  });

  it('parses a large but honest document in one pass (5 MB, 20,000 details)', () => {
    const detail = (i: number) =>
      `<detector-data-detail><detector-id>d${i}</detector-id><detection-time-stamp><date>20261127</date><time>080020</time><offset>-0600</offset></detection-time-stamp><vehicle-count>${i % 9}</vehicle-count><vehicle-occupancy>5</vehicle-occupancy><vehicle-speed>99</vehicle-speed></detector-data-detail>`;
    const xml = `<tmdd:detectorDataMsg xmlns:tmdd="http://www.tmdd.org/303/messages"><detector-data-item><detector-data-list>${Array.from({ length: 20_000 }, (_, i) => detail(i)).join('')}</detector-data-list></detector-data-item></tmdd:detectorDataMsg>`;
    expect(xml.length).toBeGreaterThan(5_000_000);
    const r = parseDetectorData(xml, opts);
    expect(r.samples).toHaveLength(20_000);
  });
});
