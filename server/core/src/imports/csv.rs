//! Reading an import file: the bytes as text (UTF-8 or GBK), the header row matched to the
//! columns (English or Chinese names, any order), each data row with its line number, every bad
//! row collected so the whole file is refused at once; what a run counted.

use std::collections::HashMap;

use super::{ImportError, ImportReport, MAX_FIELD_CHARS, MAX_ROWS};

/// Turns file bytes into text: UTF-8 (a BOM is dropped) or else GBK/GB18030.
pub fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(ImportError::Encoding);
    }
    Ok(text.into_owned())
}

/// A column of an import file: its field name and the headers people write for it.
pub(crate) struct Column {
    pub(crate) field: &'static str,
    pub(crate) headers: &'static [&'static str],
    pub(crate) required: bool,
}

/// One data row: its line in the file and its cells by field (empty cells left out).
pub(crate) struct Record {
    pub(crate) line: u64,
    pub(crate) cells: HashMap<&'static str, String>,
}

impl Record {
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.cells.get(field).map(String::as_str)
    }

    pub(crate) fn required(&self, field: &str) -> Result<&str, String> {
        let value = self.get(field).ok_or_else(|| format!("{field} is empty"))?;
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(format!(
                "{field} is longer than {MAX_FIELD_CHARS} characters"
            ));
        }
        Ok(value)
    }

    pub(crate) fn optional(&self, field: &str) -> Result<Option<&str>, String> {
        match self.get(field) {
            Some(_) => self.required(field).map(Some),
            None => Ok(None),
        }
    }
}

/// A file's data rows, plus the rows that could not be read at all (`line`, reason).
pub(crate) struct Table {
    pub(crate) records: Vec<Record>,
    pub(crate) unreadable: Vec<(u64, String)>,
}

/// Reads a CSV table whose header row names the columns (in English or Chinese, any order).
/// A bad header refuses the file at once; a bad row is kept as unreadable.
pub(crate) fn read_table(text: &str, columns: &[Column]) -> Result<Table, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Rows(vec![format!("line 1: {e}")]))?
        .clone();
    let mut problems = Vec::new();
    let mut fields: Vec<&'static str> = Vec::with_capacity(headers.len());
    for header in &headers {
        match columns
            .iter()
            .find(|c| c.headers.iter().any(|h| h.eq_ignore_ascii_case(header)))
        {
            Some(column) if fields.contains(&column.field) => {
                problems.push(format!("line 1: column {header:?} is given twice"));
            }
            Some(column) => fields.push(column.field),
            None => {
                let known: Vec<&str> = columns.iter().map(|c| c.field).collect();
                problems.push(format!(
                    "line 1: unknown column {header:?}; expected {}",
                    known.join(", ")
                ));
                fields.push("");
            }
        }
    }
    for column in columns.iter().filter(|c| c.required) {
        if !fields.contains(&column.field) {
            problems.push(format!(
                "line 1: missing column {} (header {})",
                column.field,
                column.headers.join(" or ")
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows(problems));
    }

    let mut records = Vec::new();
    let mut unreadable = Vec::new();
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                unreadable.push((line, e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != fields.len() {
            let reason = format!(
                "has {} cells, the header has {}",
                record.len(),
                fields.len()
            );
            unreadable.push((line, reason));
            continue;
        }
        if records.len() == MAX_ROWS {
            let reason = format!("the file has more than {MAX_ROWS} rows; split it");
            unreadable.push((line, reason));
            break;
        }
        let cells = fields
            .iter()
            .zip(record.iter())
            .filter(|(_, value)| !value.is_empty())
            .map(|(field, value)| (*field, value.to_owned()))
            .collect();
        records.push(Record { line, cells });
    }
    Ok(Table {
        records,
        unreadable,
    })
}

/// Validates each record with `check` and reports every unreadable or invalid row, in line
/// order, as `line N: reason`.
pub(crate) fn check_all<T>(
    table: Table,
    mut check: impl FnMut(&Record) -> Result<T, String>,
) -> Result<Vec<T>, ImportError> {
    let mut rows = Vec::with_capacity(table.records.len());
    let mut problems = table.unreadable;
    for record in &table.records {
        match check(record) {
            Ok(row) => rows.push(row),
            Err(reason) => problems.push((record.line, reason)),
        }
    }
    if problems.is_empty() {
        return Ok(rows);
    }
    problems.sort_by_key(|(line, _)| *line);
    Err(ImportError::Rows(
        problems
            .into_iter()
            .map(|(line, reason)| format!("line {line}: {reason}"))
            .collect(),
    ))
}

/// Remembers the first line of each natural key, to refuse a key given twice in one file.
#[derive(Default)]
pub(crate) struct FirstLines(HashMap<String, u64>);

impl FirstLines {
    pub(crate) fn check(&mut self, what: &str, key: &str, line: u64) -> Result<(), String> {
        match self.0.get(key) {
            Some(first) => Err(format!("{what} {key:?} is also on line {first}")),
            None => {
                self.0.insert(key.to_owned(), line);
                Ok(())
            }
        }
    }
}

/// What happened to one row.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Unchanged,
    Updated,
    Created,
}

pub(crate) fn report(kind: &'static str, outcomes: &[Outcome], dry_run: bool) -> ImportReport {
    let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
    ImportReport {
        kind,
        rows: outcomes.len(),
        created: count(Outcome::Created),
        updated: count(Outcome::Updated),
        unchanged: count(Outcome::Unchanged),
        dry_run,
    }
}
