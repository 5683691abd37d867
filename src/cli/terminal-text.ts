// Text from outside (the provider's `sub`, the service's answers, permission patterns) on its way
// to the person's terminal: it must not be able to move the cursor, rewrite lines, set the window
// title or hide what follows. Hand-written: strip-ansi removes escape sequences only, and the
// bare C0/C1 controls and bidirectional overrides matter as much.

// ESC-introduced sequences, removed whole: CSI (ESC [ … final byte), OSC/DCS/SOS/PM/APC strings
// (ESC ] … BEL or ST), and two-character escapes (ESC + one byte).
const ESCAPE_SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -~]?)|\x9b[0-?]*[ -/]*[@-~]?/g
// C0 and C1 controls (DEL included) and the format characters, among them the bidirectional
// controls that reorder text and the zero-width ones that hide it.
const CONTROL = /[\p{Cc}\p{Cf}]/gu

/** `text` with every terminal control removed: safe to print on one line. */
export function printable(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '')
}
