/**
 * A small CSV reader for the contacts import (RFC 4180: quoted fields,
 * doubled quotes, CRLF or LF), and the rows it yields as contact input with
 * their line numbers, so the import's error report can name each bad row.
 */

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

export interface ContactLine { line: number; name: string | null; phone: string; email: string | null }
export interface LineError { line: number; message: string }

/** The header names the columns (phone required; name and email optional); blank lines are skipped. */
export function contactLines(text: string): { lines: ContactLine[]; errors: LineError[] } {
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  const col = (name: string): number => header.indexOf(name);
  if (col('phone') < 0) return { lines: [], errors: [{ line: 1, message: 'the header has no "phone" column' }] };
  const lines: ContactLine[] = [];
  const errors: LineError[] = [];
  rows.slice(1).forEach((cells, i) => {
    const line = i + 2;
    if (cells.every((c) => c.trim() === '')) return;
    if (cells.length !== header.length) { errors.push({ line, message: `expected ${header.length} fields, found ${cells.length}` }); return; }
    const get = (name: string): string | null => { const v = col(name) >= 0 ? cells[col(name)]!.trim() : ''; return v === '' ? null : v; };
    const phone = get('phone');
    if (!phone) { errors.push({ line, message: 'phone is empty' }); return; }
    lines.push({ line, name: get('name'), phone, email: get('email') });
  });
  return { lines, errors };
}
