// Finds a name repeated in one JSON object. JSON.parse keeps the last of `{"query": A,
// "query": B}`, so a body whose parts disagree about what it asks (one reading for a proxy or
// a log, another for the gateway) would run B silently; the transport refuses such a body
// instead (RFC 8259 leaves repeated names to the parser; I-JSON, RFC 7493, forbids them).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index of the quote that closes the string opened at `open`. */
function stringEnd(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0) return text.length; // not JSON; the caller has parsed it, so this never happens
    let slashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return q;
    from = q + 1;
  }
}

/**
 * The first member name that occurs twice in one object of `text` (valid JSON, already parsed),
 * compared after unescaping (`"\u0071uery"` is `"query"`); null when there is none. One pass,
 * with a stack of its own: a body may nest as deep as the body limit allows.
 */
export function firstDuplicateKey(text: string): string | null {
  // One entry per open container: the names seen so far of an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (expectName) {
        const raw = text.slice(i + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const names = open[open.length - 1] as Set<string>;
        if (names.has(name)) return name;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectName = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectName = false;
    } else if (c === 0x2c /* , */) {
      expectName = open.length > 0 && open[open.length - 1] !== null;
    }
  }
  return null;
}
