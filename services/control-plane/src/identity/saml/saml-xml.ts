import { DOMParser } from '@xmldom/xmldom';

/** XML namespaces this module reads. */
export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

/** Larger than any real Response, small enough that parsing cannot be used to exhaust memory. */
export const MAX_SAML_XML_BYTES = 512 * 1024;

const DTD_PATTERN = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i;

/**
 * True when the text declares a DTD or entity. Checked on the raw text before any parser runs:
 * xmldom and xml2js both read internal subsets, which is how entity expansion and external
 * entity tricks reach a parser.
 */
export function declaresDtd(xml: string): boolean {
  return DTD_PATTERN.test(xml);
}

/** Thrown by `parseXmlStrictly` for any parser warning or error. */
export class XmlParseError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'XmlParseError';
  }
}

/**
 * Parses XML and treats every parser complaint as fatal: xmldom otherwise "repairs" broken input,
 * and a repaired document may not be the one the signer signed. Callers refuse DTDs first.
 */
export function parseXmlStrictly(xml: string): Document {
  if (declaresDtd(xml)) throw new XmlParseError('document declares a DTD');
  const fail = (message: string) => {
    throw new XmlParseError(message);
  };
  const doc = new DOMParser({
    errorHandler: { warning: fail, error: fail, fatalError: fail },
  }).parseFromString(xml, 'text/xml');
  if (!doc?.documentElement) throw new XmlParseError('no document element');
  return doc;
}

/** Element children of `parent` (not text, not comments), optionally one namespace+name only. */
export function childElements(parent: Node, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== 1) continue;
    const el = node as Element;
    if (ns !== undefined && el.namespaceURI !== ns) continue;
    if (localName !== undefined && el.localName !== localName) continue;
    out.push(el);
  }
  return out;
}

/** Every descendant element with this namespace and local name, in document order. */
export function descendants(root: Node, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  const walk = (node: Node) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType !== 1) continue;
      const el = child as Element;
      if (el.namespaceURI === ns && el.localName === localName) out.push(el);
      walk(el);
    }
  };
  walk(root);
  return out;
}

/** True if any comment or processing instruction sits anywhere under `root`. */
export function containsCommentOrPi(root: Node): boolean {
  for (let child = root.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === 8 || child.nodeType === 7) return true;
    if (child.nodeType === 1 && containsCommentOrPi(child)) return true;
  }
  return false;
}

/** Concatenated text of an element's descendants. */
export function textOf(el: Element): string {
  return el.textContent ?? '';
}

/** Base64 body of a PEM certificate (or a bare base64 value) without whitespace, for comparison. */
export function certificateBody(pemOrBase64: string): string {
  return pemOrBase64
    .replace(/-----BEGIN CERTIFICATE-----/g, '')
    .replace(/-----END CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
}

/** Wraps a bare base64 certificate body as PEM, 64 characters a line. */
export function certificateToPem(base64Body: string): string {
  const body = certificateBody(base64Body);
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
