/// <reference lib="dom" />
/**
 * Contacts: the list, and a CSV import (columns name, phone, email) whose
 * rows are created one by one through POST /v1/contacts, so each row gets the
 * API's own validation; the report names every row that was refused and why.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf, type Page } from '../api.ts';
import { contactLines, type LineError } from '../csv.ts';
import { can, type Me } from '../session.ts';

interface Contact { id: string; name: string | null; phone: string; email: string | null }

function Import(props: { onImported: () => void }) {
  const [text, setText] = useState('');
  const [report, setReport] = useState<{ created: number; errors: LineError[] } | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    const { lines, errors } = contactLines(text);
    let created = 0;
    for (const l of lines) {
      try {
        await api('POST', '/v1/contacts', { phone: l.phone, ...(l.name ? { name: l.name } : {}), ...(l.email ? { email: l.email } : {}) });
        created++;
      } catch (err) { errors.push({ line: l.line, message: messageOf(err) }); }
    }
    errors.sort((a, b) => a.line - b.line);
    setReport({ created, errors });
    setBusy(false);
    props.onImported();
  };
  const readFile = async (input: HTMLInputElement): Promise<void> => { const f = input.files?.[0]; if (f) setText(await f.text()); };

  return (
    <form onSubmit={run} class="import">
      <h2>Import contacts from CSV</h2>
      <label for="csv-file">CSV file (header: name,phone,email)</label>
      <input id="csv-file" type="file" accept=".csv,text/csv" onChange={(e) => void readFile(e.currentTarget)} />
      <label for="csv-text">or paste CSV</label>
      <textarea id="csv-text" rows={6} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit" disabled={busy || text.trim() === ''}>Import</button>
      {report && (
        <div role="status" data-testid="import-report">
          <p>{report.created} contact{report.created === 1 ? '' : 's'} imported, {report.errors.length} row{report.errors.length === 1 ? '' : 's'} refused.</p>
          {report.errors.length > 0 && (
            <table>
              <caption>Rows refused</caption>
              <thead><tr><th scope="col">Line</th><th scope="col">Reason</th></tr></thead>
              <tbody>{report.errors.map((er) => <tr key={er.line}><td>{er.line}</td><td>{er.message}</td></tr>)}</tbody>
            </table>
          )}
        </div>
      )}
    </form>
  );
}

export function ContactsPage(props: { me: Me }) {
  const [contacts, setContacts] = useState<Contact[] | null>(null);
  const [error, setError] = useState('');
  const load = (): void => { api<Page<Contact>>('GET', '/v1/contacts?limit=200').then((p) => setContacts(p.items), (err) => setError(messageOf(err))); };
  useEffect(load, []);
  return (
    <section>
      <h1>Contacts</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <table data-testid="contacts">
        <thead><tr><th scope="col">Name</th><th scope="col">Phone</th><th scope="col">E-mail</th></tr></thead>
        <tbody>
          {contacts?.length === 0 && <tr><td colSpan={3}>No contacts.</td></tr>}
          {contacts?.map((c) => <tr key={c.id}><td>{c.name ?? '—'}</td><td>{c.phone}</td><td>{c.email ?? '—'}</td></tr>)}
        </tbody>
      </table>
      {can(props.me, 'contacts:write') && <Import onImported={load} />}
    </section>
  );
}
