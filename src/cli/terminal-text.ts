// Text from outside (the provider's `sub`, the service's answers, permission patterns) on its way
// to the person's terminal: it must not be able to move the cursor, rewrite lines, set the window
// title or hide what follows. Hand-written: strip-ansi removes escape sequences only, and the
// bare C0/C1 controls and bidirectional overrides matter as much.

// ESC-introduced sequences, removed whole: CSI (ESC [ … final byte), OSC/DCS/SOS/PM/APC strings
// (ESC ] … BEL or ST), and two-character escapes (ESC + one byte).
const ESCAPE_SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -~]?)|\x9b[0-?]*[ -/]*[@-~]?/g
// C0 and C1 controls (DEL included), and the Unicode bidirectional controls that reorder text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** `text` with every terminal control removed: safe to print on one line. */
export function printable(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '')
}
