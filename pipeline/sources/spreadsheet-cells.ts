/**
 * A spreadsheet cell as the text a person sees in Excel, with three deliberate exceptions:
 * dates become ISO 8601 (a person's "3/1/24" is ambiguous across locales), integers in
 * General format keep every digit (SheetJS's General formatter rounds to 11 significant
 * digits, "1.23457E+14", which would destroy a phone number), and error cells (#N/A,
 * #REF!) are empty (they are not data anyone typed).
 */
import * as XLSX from 'xlsx';

/** The subset of SheetJS's CellObject we read; typed here because its `t` is a plain string union. */
export interface Cell {
  t: 'b' | 'n' | 'e' | 's' | 'd' | 'z';
  v?: string | number | boolean | Date;
  w?: string;
  z?: string | number;
}

const DAY_MS = 86_400_000;
/** 1899-12-30: Excel's serial day 0 once its fictitious 1900-02-29 is accounted for. */
const EPOCH_1900 = Date.UTC(1899, 11, 30);
const EPOCH_1904 = Date.UTC(1904, 0, 1);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function formatString(z: string | number | undefined): string {
  if (typeof z === 'string') return z;
  if (typeof z === 'number') return (XLSX.SSF.get_table() as Record<number, string>)[z] ?? 'General';
  return 'General';
}

/** Elapsed-time formats ("[h]:mm") are durations, not points in time. */
const isDateFormat = (fmt: string) => !/\[(h+|m+|s+)\]/i.test(fmt) && XLSX.SSF.is_date(fmt) === true;

/**
 * An Excel serial date as ISO 8601: "YYYY-MM-DD", "YYYY-MM-DDTHH:mm:ss" with a time part,
 * "HH:mm:ss" for a time alone. Rounded to the second, as Excel displays it.
 * Undefined for values no calendar date can have (negative, or beyond year 9999).
 */
export function serialToIso(serial: number, date1904 = false): string | undefined {
  if (!Number.isFinite(serial) || serial < 0 || serial >= 2_958_466) return undefined;
  const totalSec = Math.round(serial * 86_400);
  const days = Math.floor(totalSec / 86_400);
  const sec = totalSec - days * 86_400;
  const time = `${pad(Math.floor(sec / 3600))}:${pad(Math.floor(sec / 60) % 60)}:${pad(sec % 60)}`;
  if (days === 0 && !date1904) return time;
  let date: string;
  if (date1904) {
    date = new Date(EPOCH_1904 + days * DAY_MS).toISOString().slice(0, 10);
  } else if (days === 60) {
    // Lotus 1-2-3's leap-year bug, kept by Excel: serial 60 is a 29 February 1900 that never was.
    date = '1900-02-29';
  } else {
    // Before the phantom day, serials are one day ahead of a real calendar.
    date = new Date(EPOCH_1900 + (days < 60 ? days + 1 : days) * DAY_MS).toISOString().slice(0, 10);
  }
  return sec === 0 ? date : `${date}T${time}`;
}

function dateToIso(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const h = d.getUTCHours(), m = d.getUTCMinutes(), s = d.getUTCSeconds();
  return h || m || s ? `${date}T${pad(h)}:${pad(m)}:${pad(s)}` : date;
}

export function cellText(cell: Cell | undefined, date1904 = false): string {
  if (!cell || cell.v === undefined || cell.v === null) return '';
  switch (cell.t) {
    case 's': return String(cell.v);
    case 'b': return cell.v ? 'TRUE' : 'FALSE';
    case 'e': case 'z': return '';
    case 'd': return cell.v instanceof Date ? dateToIso(cell.v) : String(cell.v);
    case 'n': {
      const v = cell.v as number;
      const fmt = formatString(cell.z);
      if (isDateFormat(fmt)) return serialToIso(v, date1904) ?? cell.w ?? String(v);
      if (Number.isSafeInteger(v) && /^general$/i.test(fmt)) return String(v);
      return cell.w ?? String(v);
    }
    default: return cell.w ?? String(cell.v);
  }
}

/** Whether a person would call the cell a word rather than a value (used to find the header row). */
export function isTextCell(cell: Cell | undefined): boolean {
  return cell?.t === 's';
}
