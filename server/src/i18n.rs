//! The two languages people read Huifang in: Chinese (the default, as at the company) and
//! English. Text is written where it is used, as a pair, so a page reads top to bottom in both.

use huifang_protocol::Labelled;
use serde::{Deserialize, Serialize};

/// The language of a page, a spreadsheet or a CSV header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN", alias = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// `zh-CN` or `en`, as in the `lang` attribute and the `lang` query parameter.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Reads `zh-CN`/`zh`/`en`; anything else is Chinese.
    pub fn parse(text: &str) -> Self {
        if text.eq_ignore_ascii_case("en") || text.to_ascii_lowercase().starts_with("en-") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// The text in this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A value's label in this language.
    pub fn label<L: Labelled>(self, value: L) -> &'static str {
        match self {
            Lang::Zh => value.label_zh(),
            Lang::En => value.label_en(),
        }
    }

    /// A wire code's label in this language, or the code itself when it names no value.
    pub fn label_of<L: Labelled>(self, code: &str) -> String {
        L::parse_code_or_label(code)
            .map(|value| self.label(value).to_owned())
            .unwrap_or_else(|_| code.to_owned())
    }
}
