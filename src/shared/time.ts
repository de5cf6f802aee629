// Times in messages the server writes (API errors, alerts, recommended fixes): said relative to
// now ("12 minutes ago"), never as a clock time. A message is read in a console that shows
// times in the reader's own zone, in a terminal, in a log; a UTC clock time beside local ones
// misleads, and every record that carries a time also has it as an epoch-ms field to format.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "less than a minute ago", "5 minutes ago", "3 hours ago", "2 days ago". */
export function ago(ms: number, now = Date.now()): string {
  const d = Math.max(0, now - ms);
  if (d < MINUTE) return 'less than a minute ago';
  if (d < HOUR) return `${unit(Math.floor(d / MINUTE), 'minute')} ago`;
  if (d < DAY) return `${unit(Math.floor(d / HOUR), 'hour')} ago`;
  return `${unit(Math.floor(d / DAY), 'day')} ago`;
}
