/**
 * The generation window and fast UTC formatting. Simulated time is a number of days since the
 * window start (fractional days are the time of day); files get whole seconds.
 */

const MS_PER_DAY = 86_400_000;
export const SECONDS_PER_DAY = 86_400;

/** Epoch day of a strict `YYYY-MM-DD` calendar date, or undefined when it is not a real date. */
export function parseIsoDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  return ms / MS_PER_DAY;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

let timeOfDay: string[] | undefined;

/** 'HH:MM:SS' for every second of a day, built once. */
function timesOfDay(): string[] {
  if (!timeOfDay) {
    const out = new Array<string>(SECONDS_PER_DAY);
    for (let s = 0; s < SECONDS_PER_DAY; s++) {
      out[s] = `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
    }
    timeOfDay = out;
  }
  return timeOfDay;
}

/**
 * The window [start 00:00:00Z, end + 1 day 00:00:00Z). Day 0 is the start date.
 *
 * @example
 * const cal = new Calendar('2022-01-01', '2024-12-31');
 * cal.days;                   // 1096
 * cal.timestamp(1.5 * 86400); // '2022-01-02T12:00:00Z'
 */
export class Calendar {
  readonly start: string;
  readonly end: string;
  readonly startEpochDay: number;
  /** Window length in days. */
  readonly days: number;
  /** Window length in seconds: every generated second is in [0, seconds). */
  readonly seconds: number;
  private readonly dates: string[];
  private readonly times: string[];

  constructor(start: string, end: string) {
    const s = parseIsoDate(start);
    const e = parseIsoDate(end);
    if (s === undefined || e === undefined || e < s) throw new Error(`invalid window ${start}..${end}`);
    this.start = start;
    this.end = end;
    this.startEpochDay = s;
    this.days = e - s + 1;
    this.seconds = this.days * SECONDS_PER_DAY;
    this.dates = new Array<string>(this.days);
    for (let d = 0; d < this.days; d++) {
      this.dates[d] = new Date((s + d) * MS_PER_DAY).toISOString().slice(0, 10);
    }
    this.times = timesOfDay();
  }

  /** Whole seconds since the window start for a simulated time in days, clamped into the window. */
  secondOf(day: number): number {
    const sec = Math.floor(day * SECONDS_PER_DAY);
    return sec < 0 ? 0 : sec >= this.seconds ? this.seconds - 1 : sec;
  }

  /** `YYYY-MM-DD` of a day index in the window. */
  date(dayIndex: number): string {
    return this.dates[dayIndex] as string;
  }

  /** `YYYY-MM-DD` of a second in the window. */
  dateOfSecond(sec: number): string {
    return this.dates[Math.floor(sec / SECONDS_PER_DAY)] as string;
  }

  /** ISO 8601 UTC timestamp with seconds of a second in the window. */
  timestamp(sec: number): string {
    const day = Math.floor(sec / SECONDS_PER_DAY);
    return `${this.dates[day] as string}T${this.times[sec - day * SECONDS_PER_DAY] as string}Z`;
  }

  /** Calendar parts of a second (for building impossible dates from a real one). */
  parts(sec: number): { year: number; month: number; day: number; time: string } {
    const day = Math.floor(sec / SECONDS_PER_DAY);
    const date = new Date((this.startEpochDay + day) * MS_PER_DAY);
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      time: this.times[sec - day * SECONDS_PER_DAY] as string,
    };
  }
}

/** Cents as a decimal string with two places: 12345 → '123.45', -5 → '-0.05'. */
export function money(cents: number): string {
  if (cents < 0) return `-${money(-cents)}`;
  const whole = Math.floor(cents / 100);
  const rest = cents - whole * 100;
  return `${whole}.${rest < 10 ? '0' : ''}${rest}`;
}
