// The token page's one script, inlined as a module script and allowed by its hash in the
// Content-Security-Policy. It adds what the page cannot do without JavaScript: the Copy buttons
// (hidden until this runs) and a live "(in N minutes)" next to the token's expiry.
//
// Markup it works on:
//   <button data-copy-target="ID" hidden>    copies the text of element ID
//   <span data-expires-at="UNIX SECONDS">     the countdown
//   <p id="token-expired" hidden>            shown once that time has passed

const LABEL_RESET_MS = 2000
const COUNTDOWN_INTERVAL_MS = 5000

const timers = new WeakMap()

const isTextField = (element) =>
  element instanceof HTMLTextAreaElement || element instanceof HTMLInputElement

const textOf = (element) => (isTextField(element) ? element.value : element.textContent || '')

const select = (element) => {
  if (isTextField(element)) {
    element.focus()
    element.select()
    return
  }
  const range = document.createRange()
  range.selectNodeContents(element)
  const selection = window.getSelection()
  if (selection) {
    selection.removeAllRanges()
    selection.addRange(range)
  }
}

/** Shows `label` on the button for a moment, then its own label again. */
const flash = (button, label, done) => {
  if (!button.dataset.label) button.dataset.label = button.textContent || 'Copy'
  button.textContent = label
  button.classList.toggle('is-done', done)
  clearTimeout(timers.get(button))
  timers.set(
    button,
    setTimeout(() => {
      button.textContent = button.dataset.label || 'Copy'
      button.classList.remove('is-done')
    }, LABEL_RESET_MS),
  )
}

/** Without the Clipboard API (plain http, an old browser): select the text and try execCommand. */
const copyBySelection = (button, target) => {
  select(target)
  let copied = false
  try {
    copied = document.execCommand('copy')
  } catch {
    copied = false
  }
  flash(button, copied ? 'Copied' : 'Selected', copied)
}

for (const button of document.querySelectorAll('button[data-copy-target]')) {
  const target = document.getElementById(button.dataset.copyTarget || '')
  if (!target) continue
  button.hidden = false
  button.addEventListener('click', () => {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(textOf(target)).then(
        () => flash(button, 'Copied', true),
        () => copyBySelection(button, target),
      )
    } else {
      copyBySelection(button, target)
    }
  })
}

for (const field of document.querySelectorAll('textarea[readonly]')) {
  field.addEventListener('focus', () => field.select())
}

const countdown = document.querySelector('[data-expires-at]')
if (countdown) {
  const expiresAt = Number(countdown.getAttribute('data-expires-at'))
  const expiredNote = document.getElementById('token-expired')
  /** Updates the text; false once the token has expired. */
  const update = () => {
    const left = expiresAt - Date.now() / 1000
    if (!(left > 0)) {
      countdown.textContent = '(expired)'
      if (expiredNote) expiredNote.hidden = false
      return false
    }
    if (left < 60) {
      countdown.textContent = '(in less than a minute)'
    } else {
      const minutes = Math.round(left / 60)
      countdown.textContent = `(in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`
    }
    return true
  }
  if (Number.isFinite(expiresAt) && update()) {
    const interval = setInterval(() => {
      if (!update()) clearInterval(interval)
    }, COUNTDOWN_INTERVAL_MS)
  }
}
