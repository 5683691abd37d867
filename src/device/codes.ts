// The two codes of a device login (RFC 8628 section 3.2): the device code the terminal polls
// with, a bearer secret; and the user code a person types into the browser, short enough to
// type and drawn from an alphabet without vowels (no words) and without look-alikes.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** RFC 8628 section 6.1's example alphabet: consonants only, upper case. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
export const USER_CODE_LENGTH = 8

/**
 * Random bytes at or above this are thrown away, so every letter is equally likely: 256 is not
 * a multiple of 20, and `byte % 20` over all bytes would favour the first 16 letters.
 */
const unbiasedBelow = 256 - (256 % USER_CODE_ALPHABET.length)

/** A fresh user code, normalised: 8 letters of {@link USER_CODE_ALPHABET}, no dash. */
export function newUserCode(random: (size: number) => Buffer = randomBytes): string {
  let code = ''
  while (code.length < USER_CODE_LENGTH) {
    for (const byte of random(USER_CODE_LENGTH)) {
      if (byte >= unbiasedBelow) continue
      code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length]
      if (code.length === USER_CODE_LENGTH) break
    }
  }
  return code
}

/** How a person sees a normalised user code: `BCDF-GHJK`. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/** Longer input is not a code with some spaces in it; refused before any work. */
const maxTypedLength = 32
const SEPARATORS = /[-\s]/g
const NORMALISED = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`)

/**
 * The user code a person typed, normalised, or undefined when it cannot be one. Case, spaces
 * and dashes are ignored (`bcdf-ghjk`, `BCDF GHJK`, `bcdfghjk`); anything else is not a code.
 * Upper-casing happens after the ASCII check on purpose: `toUpperCase` maps some non-ASCII
 * letters to ASCII ones (`ſ` → `S`), which must not turn a foreign string into a valid code.
 */
export function normaliseUserCode(typed: string): string | undefined {
  if (typed.length > maxTypedLength) return undefined
  const letters = typed.replace(SEPARATORS, '')
  if (!/^[A-Za-z]*$/.test(letters)) return undefined
  const upper = letters.toUpperCase()
  return NORMALISED.test(upper) ? upper : undefined
}

/** Compares two normalised user codes in time that does not depend on where they differ. */
export function sameUserCode(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

const deviceCodeBytes = 32

/** A fresh device code: 32 random bytes (256 bits), base64url: 43 characters. */
export function newDeviceCode(): string {
  return randomBytes(deviceCodeBytes).toString('base64url')
}

/** What {@link newDeviceCode} makes; anything else is refused by the route's schema. */
export const DEVICE_CODE = /^[A-Za-z0-9_-]{43}$/

/*
 * The store keys are SHA-256 digests, not keyed HMACs. The device code carries 256 bits, so its
 * digest cannot be turned back into a code that polls. The user code has only ~34.6 bits and a
 * digest of it could be reversed by trying them all; but the stored request holds the user code
 * anyway (the confirmation page shows it back), so a key would hide nothing there. Plain digests
 * also stay the same on every replica whatever the cookie secrets are, in the middle of a
 * rotation too. The prefixes keep the two kinds of key apart.
 */

/** The store key of a device code. */
export function deviceKey(deviceCode: string): string {
  return createHash('sha256').update(`device-code:${deviceCode}`).digest('base64url')
}

/** The store key of a normalised user code. */
export function userKey(normalisedUserCode: string): string {
  return createHash('sha256').update(`user-code:${normalisedUserCode}`).digest('base64url')
}
