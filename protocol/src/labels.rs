//! Every enum a person sees has a stable wire code plus zh-CN and English labels, and [`Lang`]
//! picks between the two languages people read Huifang in: Chinese (the default, as at the
//! company) and English. Text is written where it is used, as a pair, so a page reads top to
//! bottom in both.

use serde::{Deserialize, Serialize};

/// An enum value with a stable machine code and human labels in both languages the company uses.
pub trait Labelled: Sized + Copy + 'static {
    /// Every value, in display order.
    const ALL: &'static [Self];

    /// The stable code stored in databases and sent on the wire (`snake_case` ASCII).
    fn code(self) -> &'static str;
    /// The label shown to Chinese-speaking users (the default UI language).
    fn label_zh(self) -> &'static str;
    /// The English label.
    fn label_en(self) -> &'static str;

    /// Parses a wire code, or a label in either language (what people type into a spreadsheet).
    fn parse_code_or_label(text: &str) -> Result<Self, UnknownValue> {
        let text = text.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|v| {
                v.code() == text || v.label_zh() == text || v.label_en().eq_ignore_ascii_case(text)
            })
            .ok_or_else(|| UnknownValue {
                kind: std::any::type_name::<Self>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("value"),
                given: text.to_owned(),
                expected: Self::ALL.iter().map(|v| v.code()).collect(),
            })
    }
}

/// A code or label that names no known value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {given:?}; expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    pub kind: &'static str,
    pub given: String,
    pub expected: Vec<&'static str>,
}

/// Implements [`Labelled`], `Display` and `FromStr` (the code), serde and Automerge mapping
/// (as the code) for a fieldless enum.
macro_rules! labelled_enum {
    ($ty:ident { $($variant:ident => ($code:literal, $zh:literal, $en:literal)),+ $(,)? }) => {
        impl $crate::labels::Labelled for $ty {
            const ALL: &'static [Self] = &[$($ty::$variant),+];
            fn code(self) -> &'static str { match self { $($ty::$variant => $code),+ } }
            fn label_zh(self) -> &'static str { match self { $($ty::$variant => $zh),+ } }
            fn label_en(self) -> &'static str { match self { $($ty::$variant => $en),+ } }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::labels::Labelled::code(*self))
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::labels::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as $crate::labels::Labelled>::parse_code_or_label(s)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($crate::labels::Labelled::code(*self))
            }
        }

        impl autosurgeon::Reconcile for $ty {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
                reconciler.str($crate::labels::Labelled::code(*self))
            }
        }

        impl autosurgeon::Hydrate for $ty {
            fn hydrate_string(text: &str) -> Result<Self, autosurgeon::HydrateError> {
                <Self as $crate::labels::Labelled>::ALL
                    .iter()
                    .copied()
                    .find(|v| $crate::labels::Labelled::code(*v) == text)
                    .ok_or_else(|| {
                        autosurgeon::HydrateError::unexpected(
                            concat!("a ", stringify!($ty), " code"),
                            format!("{text:?}"),
                        )
                    })
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                <Self as $crate::labels::Labelled>::ALL
                    .iter()
                    .copied()
                    .find(|v| $crate::labels::Labelled::code(*v) == text)
                    .ok_or_else(|| {
                        let codes: Vec<&str> = <Self as $crate::labels::Labelled>::ALL
                            .iter()
                            .map(|v| $crate::labels::Labelled::code(*v))
                            .collect();
                        serde::de::Error::custom(format!(
                            "unknown {} {text:?}; expected one of: {}",
                            stringify!($ty),
                            codes.join(", ")
                        ))
                    })
            }
        }
    };
}
pub(crate) use labelled_enum;

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
