//! Imports of what a company already keeps in Excel: households with their customers, units, and
//! staff, as CSV in UTF-8 (with or without BOM) or GBK, the encoding Chinese Excel writes.
//!
//! An import is all or nothing: every row is checked first, and a file with any bad row imports
//! nothing and reports every bad row as `line N: reason`. Rows are upserted by their natural key
//! (community + building + room + customer name; unit code; username), so importing the same file
//! again changes nothing.

mod csv;
mod households;
mod staff;
mod units;

use serde::Serialize;

use huifang_store::db::Database;

use crate::error::Error;

pub use csv::decode_text;
pub use households::{HouseholdRow, apply_households, parse_households};
pub use staff::{StaffRow, apply_staff, parse_staff};
pub use units::{UnitRow, apply_units, parse_units};

/// The largest number of data rows one import takes.
pub const MAX_ROWS: usize = 200_000;
/// Longest text accepted in a name-like field.
pub(crate) const MAX_FIELD_CHARS: usize = 100;

/// What an import did (or, for a dry run, would do), counted per data row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub kind: &'static str,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub dry_run: bool,
}

/// Why an import was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is neither UTF-8 nor GBK text")]
    Encoding,
    #[error("{} problem(s) found; nothing was imported", .0.len())]
    Rows(Vec<String>),
    #[error(transparent)]
    Database(#[from] huifang_store::StoreError),
    #[error(transparent)]
    Failed(#[from] Error),
}

impl From<ImportError> for Error {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Encoding => Error::invalid(error.to_string()),
            ImportError::Rows(ref lines) => Error::Invalid {
                message: error.to_string(),
                details: lines.clone(),
            },
            ImportError::Database(e) => e.into(),
            ImportError::Failed(e) => e,
        }
    }
}

/// The kinds of file `huifang import` and `POST /api/v1/import/{kind}` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Households,
    Units,
    Staff,
}

impl ImportKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "households" => Some(ImportKind::Households),
            "units" => Some(ImportKind::Units),
            "staff" => Some(ImportKind::Staff),
            _ => None,
        }
    }
}

/// Parses, checks and applies one file of the given kind.
pub async fn import(
    db: &Database,
    kind: ImportKind,
    bytes: &[u8],
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    match kind {
        ImportKind::Households => apply_households(db, &parse_households(bytes)?, dry_run).await,
        ImportKind::Units => apply_units(db, &parse_units(bytes)?, dry_run).await,
        ImportKind::Staff => apply_staff(db, &parse_staff(bytes)?, dry_run).await,
    }
}

#[cfg(test)]
mod tests {
    use super::csv::*;
    use super::*;

    #[test]
    fn utf8_with_bom_and_gbk_decode_to_the_same_text() {
        let text = "小区,楼栋\n翠湖花园,1栋\n";
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode_text(text.as_bytes()).unwrap(), text);
        assert_eq!(decode_text(&with_bom).unwrap(), text);
        assert_eq!(decode_text(&gbk).unwrap(), text);
        assert!(matches!(
            decode_text(&[0xff, 0xfe, 0x00, 0x81]),
            Err(ImportError::Encoding)
        ));
    }

    fn problems(result: Result<impl std::fmt::Debug, ImportError>) -> Vec<String> {
        match result {
            Err(ImportError::Rows(lines)) => lines,
            other => panic!("expected row problems, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "小区,楼栋,房号,客户姓名,联系电话\n\
                   翠湖花园,1栋,101,张三,13812341234\n\
                   翠湖花园,1栋,,李四,13812341235\n\
                   翠湖花园,1栋,102,王五,12345\n\
                   翠湖花园,1栋,103\n";
        let lines = problems(parse_households(csv.as_bytes()));
        assert_eq!(
            lines,
            vec![
                "line 3: room is empty".to_owned(),
                "line 4: phone number must be an 11-digit mobile starting 13–19, or a landline with its area code (e.g. 0755-12345678)".to_owned(),
                "line 5: has 3 cells, the header has 5".to_owned(),
            ]
        );
    }

    #[test]
    fn headers_are_checked() {
        let lines = problems(parse_households("community,building,flat\n".as_bytes()));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 1: unknown column \"flat\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("line 1: missing column room")),
            "{lines:?}"
        );
    }

    #[test]
    fn contradicting_rows_are_refused() {
        let csv = "community,building,room,customer,phone\n\
                   A,1,101,Zhang,13812341234\n\
                   A,1,101,Zhang,13812341234\n\
                   A,1,101,Zhang,13900001111\n";
        let lines = problems(parse_households(csv.as_bytes()));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("line 4: customer Zhang"), "{lines:?}");
    }

    #[test]
    fn unit_shape_rules_are_checked() {
        let csv = "code,name,kind,parent,community\n\
                   DEV,开发部,开发部,,\n\
                   CSC1,客服中心,customer_service_center,,\n\
                   SALES1,销售现场,sales_site,,\n\
                   MKT,营销部,marketing_department,,翠湖花园\n\
                   DEV,again,development_department,,\n";
        let lines = problems(parse_units(csv.as_bytes()));
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("line 3: a customer_service_center needs a parent"));
        assert!(lines[1].starts_with("line 4: a sales_site needs the community"));
        assert!(lines[2].starts_with("line 5: a marketing_department serves the whole company"));
    }

    #[test]
    fn staff_rows_are_checked_and_passwords_never_printed() {
        let csv = "username,name,role,unit,phone,password\n\
                   Zhang.San ,张三,consultant,SALES1,13812341234,secret-pass\n\
                   li si,李四,staff,OFFICE1,,\n\
                   wang,王五,consultant,,,\n\
                   zhao,赵六,boss,X,,\n\
                   qian,钱七,staff,X,,short\n";
        let lines = problems(parse_staff(csv.as_bytes()));
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("line 3: username \"li si\""));
        assert!(lines[1].starts_with("line 4: a consultant needs a unit"));
        assert!(lines[2].starts_with("line 5: unknown Role \"boss\""));
        assert!(lines[3].starts_with("line 6: password must have at least"));

        let ok = parse_staff(
            "username,name,role,unit,password\nZhang.San,张三,consultant,SALES1,secret-pass\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok[0].username, "zhang.san");
        assert!(!format!("{:?}", ok[0]).contains("secret-pass"));
    }

    mod decoders {
        //! The CSV import's parsers under the property harness of `scripts/fuzz`: any bytes an
        //! administrator uploads get rows or a list of bad lines, never a panic.
        use super::*;
        use proptest::prelude::*;

        fn cases() -> u32 {
            std::env::var("HUIFANG_FUZZ_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(128)
        }

        /// Fields as spreadsheets write them: Chinese and ASCII text, quotes, commas, NULs,
        /// formula starts, line ends.
        fn field() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[a-z0-9翠湖花园陈志强栋室 =+@\\-\"\r\n,\u{0}]{0,12}")
                .unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(cases()))]

            #[test]
            fn random_bytes_never_break_an_import(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
                let _ = parse_units(&bytes);
                let _ = parse_staff(&bytes);
                let _ = parse_households(&bytes);
            }

            #[test]
            fn random_tables_never_break_an_import(
                rows in proptest::collection::vec(proptest::collection::vec(field(), 0..10), 0..8),
                gbk in any::<bool>(),
            ) {
                for header in [
                    "code,name,kind,parent,community",
                    "username,name,role,unit,phone,password",
                    "community,community_address,building,room,customer,phone,address,consultant",
                ] {
                    let mut text = format!("{header}\n");
                    for row in &rows {
                        text.push_str(&row.join(","));
                        text.push('\n');
                    }
                    let bytes = if gbk {
                        encoding_rs::GBK.encode(&text).0.into_owned()
                    } else {
                        text.into_bytes()
                    };
                    let _ = parse_units(&bytes);
                    let _ = parse_staff(&bytes);
                    let _ = parse_households(&bytes);
                }
            }
        }
    }
}
