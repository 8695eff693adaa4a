//! Lists and reports as tables that leave the system: CSV and XLSX downloads, and the same table
//! shown on a dashboard page. Every list and report builds a [`Table`]; this module is the one
//! place that turns tables into files.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use huifang_protocol::{Labelled, PhotoFormat};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;

use crate::error::AppError;

/// One cell, typed so a spreadsheet can sum and format it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Number(f64),
    /// A ratio 0…1, shown as a percentage.
    Percent(f64),
    /// A record's photos (blob SHA-256 and format): thumbnails on a page, their number in a file.
    Photos(Vec<(String, PhotoFormat)>),
    /// Text that a page links to a record's own page; a file holds the text.
    Link {
        text: String,
        href: String,
    },
    Empty,
}

/// A photo as a page links it: the file, and its thumbnail when one can be drawn.
pub struct PhotoLink {
    pub href: String,
    pub thumbnail: Option<String>,
    pub label: &'static str,
}

impl PhotoLink {
    /// The links to photo `hash` (a HEIC one has no thumbnail).
    pub fn to(hash: &str, format: PhotoFormat) -> Self {
        PhotoLink {
            href: format!("/api/v1/blobs/{hash}"),
            thumbnail: (format != PhotoFormat::Heic)
                .then(|| format!("/api/v1/blobs/{hash}/thumbnail")),
            label: format.label_en(),
        }
    }
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Cell::Text(text.into())
    }

    pub fn optional_number(value: Option<f64>) -> Self {
        value.map_or(Cell::Empty, Cell::Number)
    }

    pub fn optional_percent(value: Option<f64>) -> Self {
        value.map_or(Cell::Empty, Cell::Percent)
    }

    /// The cell as people read it on a page or in a CSV file.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Number(x) => format!("{x:.2}"),
            Cell::Percent(x) => format!("{:.1}%", x * 100.0),
            Cell::Photos(photos) if photos.is_empty() => String::new(),
            Cell::Photos(photos) => photos.len().to_string(),
            Cell::Link { text, .. } => text.clone(),
            Cell::Empty => String::new(),
        }
    }

    /// Where a page links this cell to, if anywhere.
    pub fn href(&self) -> Option<&str> {
        match self {
            Cell::Link { href, .. } => Some(href),
            _ => None,
        }
    }

    /// The photos a page shows in this cell (none for other cells).
    pub fn photo_links(&self) -> Vec<PhotoLink> {
        let Cell::Photos(photos) = self else {
            return Vec::new();
        };
        photos
            .iter()
            .map(|(hash, format)| PhotoLink::to(hash, *format))
            .collect()
    }

    /// Whether the cell is a figure (right-aligned on a page).
    pub fn is_figure(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Number(_) | Cell::Percent(_))
    }
}

/// A titled table: a worksheet of a workbook, a CSV file, a table on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The worksheet's name (at most 31 characters, no `[]:*?/\`).
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: impl Into<String>, headers: &[&str]) -> Self {
        Table {
            name: name.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }
}

/// The file format a download is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match text {
            "csv" => Ok(FileFormat::Csv),
            "xlsx" => Ok(FileFormat::Xlsx),
            other => Err(AppError::NotFound(format!(
                "no export as {other:?}; ask for .csv or .xlsx"
            ))),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Text as a CSV cell that a spreadsheet shows as text: a cell starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return would be read as a formula by Excel (a customer's name or note
/// like `=HYPERLINK(…)` is typed by the public), so it gets a leading apostrophe, which Excel
/// hides. Figures are written as numbers and never need it.
pub fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A table as CSV: UTF-8 with a byte-order mark, which Excel needs to read Chinese correctly.
pub fn to_csv(table: &Table) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let internal = |e: csv::Error| AppError::Internal(e.into());
    writer
        .write_record(table.headers.iter().map(|h| spreadsheet_safe(h)))
        .map_err(internal)?;
    for row in &table.rows {
        writer
            .write_record(row.iter().map(|cell| match cell {
                Cell::Text(text) | Cell::Link { text, .. } => spreadsheet_safe(text),
                figure => figure.display(),
            }))
            .map_err(internal)?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV: {e}")))
}

/// Tables as an XLSX workbook, one worksheet each, headers bold and frozen.
pub fn to_xlsx(tables: &[Table]) -> Result<Vec<u8>, AppError> {
    write_workbook(tables).map_err(|e| AppError::Internal(anyhow::anyhow!("writing XLSX: {e}")))
}

fn write_workbook(tables: &[Table]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let decimal = Format::new().set_num_format("0.00");
    for table in tables {
        let sheet = workbook.add_worksheet().set_name(sheet_name(&table.name))?;
        for (col, header) in table.headers.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, header.as_str(), &bold)?;
        }
        for (i, row) in table.rows.iter().enumerate() {
            let r = i as u32 + 1;
            for (col, cell) in row.iter().enumerate() {
                let c = col as u16;
                match cell {
                    Cell::Text(text) | Cell::Link { text, .. } => {
                        sheet.write_string(r, c, text.as_str())?;
                    }
                    Cell::Int(n) => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    Cell::Number(x) => {
                        sheet.write_number_with_format(r, c, *x, &decimal)?;
                    }
                    Cell::Percent(x) => {
                        sheet.write_number_with_format(r, c, *x, &percent)?;
                    }
                    Cell::Photos(photos) => {
                        sheet.write_number(r, c, photos.len() as f64)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
    }
    workbook.save_to_buffer()
}

/// A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if cleaned.trim().is_empty() {
        "Sheet".to_owned()
    } else {
        cleaned
    }
}

/// Splits a path segment such as `2026-11.xlsx` into its stem and the format asked for (none
/// for the plain JSON resource).
pub fn split_file_name(segment: &str) -> Result<(&str, Option<FileFormat>), AppError> {
    match segment.rsplit_once('.') {
        Some((stem, extension)) => Ok((stem, Some(FileFormat::parse(extension)?))),
        None => Ok((segment, None)),
    }
}

/// Tables as a download named `stem.csv` or `stem.xlsx`. A CSV file holds one table: the first.
pub fn download(stem: &str, format: FileFormat, tables: &[Table]) -> Result<Response, AppError> {
    let bytes = match format {
        FileFormat::Csv => match tables.first() {
            Some(table) => to_csv(table)?,
            None => Vec::new(),
        },
        FileFormat::Xlsx => to_xlsx(tables)?,
    };
    let name = format!("{stem}.{}", format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut table = Table::new("回访/统计", &["单位", "回访数", "及时率", "满意度"]);
        table.push(vec![
            Cell::text("碧水湾物业管理处"),
            Cell::Int(12),
            Cell::Percent(0.75),
            Cell::Number(4.5),
        ]);
        table.push(vec![
            Cell::text("营销部, \"总部\""),
            Cell::Int(0),
            Cell::Empty,
            Cell::Empty,
        ]);
        table
    }

    #[test]
    fn csv_cells_that_spreadsheets_would_run_as_formulas_are_neutralised() {
        let mut table = Table::new("t", &["=cmd", "b"]);
        for text in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "陈志强",
        ] {
            table.push(vec![Cell::text(text), Cell::Int(-5)]);
        }
        let text = String::from_utf8(to_csv(&table).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "\u{feff}'=cmd,b");
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\")\",-5");
        assert_eq!(lines[2], "'+1,-5", "figures stay numbers");
        assert_eq!(lines[3], "'-2+3,-5");
        assert_eq!(lines[4], "'@SUM(A1),-5");
        assert_eq!(lines[6], "陈志强,-5");
    }

    #[test]
    fn csv_has_a_byte_order_mark_and_quotes_what_needs_it() {
        let bytes = to_csv(&table()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "单位,回访数,及时率,满意度");
        assert_eq!(lines[1], "碧水湾物业管理处,12,75.0%,4.50");
        assert_eq!(lines[2], "\"营销部, \"\"总部\"\"\",0,,");
    }

    #[test]
    fn xlsx_is_a_workbook_with_a_valid_sheet_name() {
        let bytes = to_xlsx(&[table()]).unwrap();
        assert_eq!(&bytes[..2], b"PK", "an XLSX file is a zip archive");
        assert_eq!(sheet_name("回访/统计"), "回访_统计");
        assert_eq!(sheet_name(&"很".repeat(40)).chars().count(), 31);
    }
}
