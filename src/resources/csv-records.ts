/**
 * RFC 4180 CSV reading: records with the line each starts on (for per-row
 * error reports). Quoted fields may hold commas, doubled quotes and line
 * breaks; CRLF and LF line ends; a leading byte-order mark is dropped; blank
 * lines are skipped. A quote that never closes, or text after a closing
 * quote, is a CsvSyntaxError naming the line (never the content).
 */

export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
  constructor(readonly line: number, reason: string) {
    super(`CSV syntax error on line ${line}: ${reason}`);
  }
}

export interface CsvRecord {
  /** 1-based line number where the record starts. */
  line: number;
  fields: string[];
}

export function* csvRecords(text: string): Generator<CsvRecord> {
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let i = 0;
  let line = 1;
  while (i < input.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (input[i] === '"') {
        i++;
        for (;;) {
          if (i >= input.length) throw new CsvSyntaxError(start, 'a quoted field is not closed');
          const c = input[i]!;
          if (c === '"') {
            if (input[i + 1] === '"') { value += '"'; i += 2; continue; }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        if (i < input.length && input[i] !== ',' && input[i] !== '\n' && input[i] !== '\r') throw new CsvSyntaxError(line, 'text after a closing quote');
      } else {
        while (i < input.length && input[i] !== ',' && input[i] !== '\n' && input[i] !== '\r') value += input[i++]!;
      }
      fields.push(value);
      if (input[i] === ',') { i++; continue; }
      break;
    }
    if (input[i] === '\r') i++;
    if (input[i] === '\n') i++;
    line++;
    if (fields.length === 1 && fields[0] === '') continue;
    yield { line: start, fields };
  }
}
