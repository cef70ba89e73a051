/**
 * The XML reader every feed format shares (the only agent file importing fast-xml-parser). Local names only,
 * attributes ignored, values kept as text. Documents with a DOCTYPE are refused before parsing: no detector
 * feed needs one, and it is how entity-expansion ("billion laughs") and external-entity attacks arrive.
 */
import { XMLParser } from 'fast-xml-parser';
import { ERR, WacoflowError } from '../../../platform/errors.ts';

/** Elements that are lists in some document and must always read as arrays. */
const LISTS = new Set([
  'detector-data-item', 'detector-data-detail', 'detector-report', 'lane', 'collection-period-item', 'lane-data-item',
  'detector-inventory-item', 'detector', 'station', 'collection-period',
]);

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => LISTS.has(name),
});

/** Nesting deeper than any detector document, far below where a parser's stack would be at risk. */
const MAX_DEPTH = 64;

export type XmlNode = Record<string, unknown>;

export function readXml(xml: string): XmlNode {
  if (xml.trim() === '') throw new WacoflowError(ERR.FEED_PARSE, 'empty document');
  if (/<!DOCTYPE/i.test(xml.slice(0, 4096)) || /<!ENTITY/i.test(xml)) {
    throw new WacoflowError(ERR.FEED_PARSE, 'document declares a DOCTYPE or entities, which detector feeds never need: refused');
  }
  let depth = 0;
  let max = 0;
  // A cheap pre-scan: opening tags minus closing tags, ignoring declarations, comments and self-closing tags.
  for (const m of xml.matchAll(/<(\/?)([A-Za-z_][^\s/>]*)[^>]*?(\/?)>/g)) {
    if (m[1]) depth--;
    else if (!m[3]) depth++;
    if (depth > max) max = depth;
    if (max > MAX_DEPTH) throw new WacoflowError(ERR.FEED_PARSE, `elements nested more than ${MAX_DEPTH} deep: refused`);
  }
  try {
    return parser.parse(xml, true) as XmlNode;
  } catch (err) {
    throw new WacoflowError(ERR.FEED_PARSE, `not well-formed XML: ${(err as Error).message}`, { cause: err });
  }
}

export function rootName(doc: XmlNode): string {
  return Object.keys(doc).find((k) => k !== '?xml') ?? '';
}

export const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v).trim());
export const list = <T = XmlNode>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : v === undefined || v === null || v === '' ? [] : [v as T]);
export const node = (v: unknown): XmlNode => (v && typeof v === 'object' && !Array.isArray(v) ? (v as XmlNode) : {});
