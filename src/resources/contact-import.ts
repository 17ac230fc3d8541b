/**
 * CSV import of contacts: a header row (phone, name, email, timezone, in any
 * order, any case; phone required; every other column is a custom attribute
 * named by its header, contact-attributes.ts: a header that cannot name one
 * fails the whole file) and one contact per row. Attribute cells are stored as
 * text; a blank cell sets nothing. Each row is checked like a single create (the number
 * validated and normalised to E.164, the time zone given or derived); good
 * rows are created together, bad ones skipped and reported with their line,
 * field and reason, the number masked (never an attribute's value). Numbers
 * without + are read in the tenant's default country. A number already among the tenant's
 * contacts, or seen on an earlier line, is a duplicate. Audited once, with
 * counts only.
 */
import { audit, createContacts, existingContactPhones, type ContactInput, type Database } from '../../storage/index.ts';
import { maskPhone, phoneVariants } from '../compliance/phone.ts';
import { attributeKeyProblem, attributeValueProblem, MAX_ATTRIBUTES } from './contact-attributes.ts';
import { tenantPhoneCountry } from '../compliance/tenant-country.ts';
import { newContact } from './contacts.ts';
import { CsvSyntaxError, csvRecords } from './csv-records.ts';
import { auditBy, invalid, ResourceError, type Actor } from './errors.ts';

export const IMPORT_MAX_ROWS = 50_000;
/** At most this many row errors are listed (the counts are always complete). */
export const IMPORT_MAX_REPORTED_ERRORS = 1_000;

const COLUMNS = { phone: 'phone', name: 'name', email: 'email', timezone: 'timeZone' } as const;
type Column = keyof typeof COLUMNS;

export interface ImportRowError {
  line: number;
  field: string;
  reason: string;
  /** The row's number masked to its last 4 digits, when it had one. */
  phone?: string;
}

export interface ContactImportReport {
  rows: number;
  created: number;
  skipped: number;
  /** The header's columns stored as custom attributes, in order. */
  attributeColumns: string[];
  errors: ImportRowError[];
  errorsTruncated: boolean;
}

interface Candidate { line: number; input: ContactInput }

export async function importContacts(db: Database, tenantId: string, csv: string, who: Actor): Promise<ContactImportReport> {
  const { header, rows } = readRows(csv);
  const country = await tenantPhoneCountry(db, tenantId);
  const errors: ImportRowError[] = [];
  const candidates: Candidate[] = [];
  const firstLine = new Map<string, number>();
  for (const row of rows) {
    const raw = (c: Column): string | undefined => { const i = header.get(c); return i === undefined ? undefined : row.fields[i]; };
    const masked = raw('phone') ? { phone: maskPhone(raw('phone')!) } : {};
    if (row.fields.length > header.size + header.attributes.length) {
      errors.push({ line: row.line, field: 'row', reason: 'more fields than the header has columns', ...masked });
      continue;
    }
    let input: ContactInput;
    try {
      const blankToNull = (v: string | undefined) => (v === undefined || v.trim() === '' ? null : v);
      const checked = newContact({
        phone: raw('phone') ?? '', name: blankToNull(raw('name')), email: blankToNull(raw('email')),
        timeZone: header.has('timezone') ? blankToNull(raw('timezone')) ?? undefined : undefined, attributes: rowAttributes(header, row.fields),
      }, country);
      input = { phone: checked.phone, name: checked.name ?? null, email: checked.email ?? null, timeZone: checked.timeZone ?? null, attributes: checked.attributes };
    } catch (error) {
      if (!(error instanceof ResourceError)) throw error;
      errors.push({ line: row.line, field: error.field ?? 'row', reason: error.message, ...masked });
      continue;
    }
    const earlier = firstLine.get(input.phone);
    if (earlier !== undefined) {
      errors.push({ line: row.line, field: 'phone', reason: `duplicate of line ${earlier}`, ...masked });
      continue;
    }
    firstLine.set(input.phone, row.line);
    candidates.push({ line: row.line, input });
  }
  const existing = await existingContactPhones(db, tenantId, candidates.flatMap((c) => phoneVariants(c.input.phone)));
  const fresh = candidates.filter((c) => {
    if (!phoneVariants(c.input.phone).some((v) => existing.has(v))) return true;
    errors.push({ line: c.line, field: 'phone', reason: 'a contact with this number already exists', phone: maskPhone(c.input.phone) });
    return false;
  });
  const created = await createContacts(db, tenantId, fresh.map((c) => c.input));
  errors.sort((a, b) => a.line - b.line);
  const report: ContactImportReport = {
    rows: rows.length, created, skipped: rows.length - created, attributeColumns: header.attributes.map((a) => a.key),
    errors: errors.slice(0, IMPORT_MAX_REPORTED_ERRORS), errorsTruncated: errors.length > IMPORT_MAX_REPORTED_ERRORS,
  };
  await audit(db, tenantId, { ...auditBy(who), action: 'contacts.imported', detail: { rows: report.rows, created, skipped: report.skipped } });
  return report;
}

type Header = Map<Column, number> & { attributes: { key: string; index: number }[] };

/** A row's non-blank attribute cells, as text; `invalid` on the attribute's own field for a value that cannot be stored. */
function rowAttributes(header: Header, fields: readonly string[]): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const { key, index } of header.attributes) {
    const value = fields[index]?.trim();
    if (!value) continue;
    const problem = attributeValueProblem(value);
    if (problem) throw invalid(problem, key);
    attributes[key] = value;
  }
  return attributes;
}

/** The header's known columns (by position), its attribute columns and the data rows; `invalid` for a missing phone column, a repeated column, a column that cannot name an attribute, too many rows or bad CSV. */
function readRows(csv: string): { header: Header; rows: { line: number; fields: string[] }[] } {
  const header = Object.assign(new Map<Column, number>(), { attributes: [] as { key: string; index: number }[] });
  const rows: { line: number; fields: string[] }[] = [];
  try {
    let first = true;
    for (const record of csvRecords(csv)) {
      if (first) {
        first = false;
        for (const [i, name] of record.fields.entries()) {
          const key = name.trim().toLowerCase();
          if (key in COLUMNS) {
            if (header.has(key as Column)) throw invalid(`the header names the column ${key} twice`, 'csv');
            header.set(key as Column, i);
          } else {
            const attribute = name.trim();
            const problem = attributeKeyProblem(attribute);
            if (problem) throw invalid(`header column ${i + 1} ("${attribute.slice(0, 64)}") cannot name an attribute: ${problem}`, 'csv');
            if (header.attributes.some((a) => a.key === attribute)) throw invalid(`the header names the column ${attribute} twice`, 'csv');
            header.attributes.push({ key: attribute, index: i });
          }
        }
        if (header.attributes.length > MAX_ATTRIBUTES) throw invalid(`at most ${MAX_ATTRIBUTES} attribute columns (besides phone, name, email, timezone)`, 'csv');
        if (!header.has('phone')) throw invalid('the header row must name a phone column (columns: phone, name, email, timezone)', 'csv');
        continue;
      }
      if (rows.length === IMPORT_MAX_ROWS) throw invalid(`at most ${IMPORT_MAX_ROWS} rows per import`, 'csv');
      rows.push(record);
    }
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw invalid(error.message, 'csv');
    throw error;
  }
  if (header.size === 0) throw invalid('the CSV is empty: give a header row (phone, name, email, timezone) and one row per contact', 'csv');
  return { header, rows };
}
