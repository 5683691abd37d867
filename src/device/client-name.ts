// The name a terminal gives itself in a device login (`client_name`). Anyone may send one, and
// the confirmation page shows it to the person deciding, so a name must not be able to look like
// nothing, draw over the page's other rows, or pass for another name by mixing look-alike
// letters. Hand-written: no library states a rule for "printable text a person can read"; this
// one is deliberately strict and a terminal's host name always passes it.

/** The SPEC's limit, counted in code points. */
export const MAX_CLIENT_NAME_LENGTH = 64
/** Combining marks allowed in a row after a letter: enough for Vietnamese (ệ is e + two marks). */
const MAX_MARKS_IN_A_ROW = 2

const LETTER = /^\p{L}$/u
const MARK = /^\p{M}$/u
const VISIBLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u
/**
 * Letters that draw nothing (U+3164 Hangul filler and its kin, which are Unicode letters) and
 * every other default-ignorable or bidirectional control code point; U+2800 is the Braille
 * pattern with no dots, a symbol that renders blank.
 */
const INVISIBLE = /^[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\u2800]$/u
/** Scripts whose letters imitate each other (Latin a, Cyrillic а, Greek α): one per name. */
const LOOK_ALIKE_SCRIPTS = [/^\p{Script=Latin}$/u, /^\p{Script=Cyrillic}$/u, /^\p{Script=Greek}$/u]

/**
 * Why `name` is not acceptable as a client name, or undefined when it is. Acceptable: NFC
 * normalised; 1 to 64 code points; only letters, digits, punctuation, symbols and the ASCII
 * space, which may not start or end the name or come twice in a row; combining marks only right
 * after a letter, at most two in a row; nothing default-ignorable, no bidirectional control, no
 * blank Braille pattern; letters of at most one of the Latin, Cyrillic and Greek scripts.
 */
export function clientNameProblem(name: string): string | undefined {
  const points = Array.from(name)
  if (points.length === 0 || points.length > MAX_CLIENT_NAME_LENGTH) {
    return `is not 1 to ${MAX_CLIENT_NAME_LENGTH} characters long`
  }
  if (name.normalize('NFC') !== name) return 'is not in Unicode normalisation form C (NFC)'
  if (points[0] === ' ' || points.at(-1) === ' ') return 'starts or ends with a space'
  const scripts = new Set<number>()
  /** The last code point that is not a combining mark: what the next mark would sit on. */
  let base = ''
  let marksInARow = 0
  for (const point of points) {
    if (INVISIBLE.test(point)) return `contains the invisible character U+${codePoint(point)}`
    if (MARK.test(point)) {
      marksInARow++
      if (!LETTER.test(base)) return 'contains a combining mark that does not follow a letter'
      if (marksInARow > MAX_MARKS_IN_A_ROW) {
        return `has more than ${MAX_MARKS_IN_A_ROW} combining marks on one letter`
      }
      continue
    }
    marksInARow = 0
    if (point === ' ') {
      if (base === ' ') return 'contains two spaces in a row'
    } else if (!VISIBLE.test(point)) {
      return `contains U+${codePoint(point)}, which is not a letter, digit, punctuation or symbol`
    }
    LOOK_ALIKE_SCRIPTS.forEach((script, index) => {
      if (script.test(point)) scripts.add(index)
    })
    base = point
  }
  if (scripts.size > 1) return 'mixes Latin, Cyrillic or Greek letters'
  return undefined
}

function codePoint(point: string): string {
  return (point.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')
}
