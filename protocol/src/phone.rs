//! Customer and staff phone numbers: one normal form, and a masked form for logs and for roles
//! that do not need the full number.

use serde::{Deserialize, Serialize};

/// A validated mainland-China phone number in normal form: a mobile as 11 digits
/// (`13812341234`), a landline as `area-number` (`0755-12345678`), optionally `-extension`.
///
/// `Debug` prints the masked form so that a number never reaches a log by accident.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// Why a text is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number may contain only digits, spaces, '-', '+' and parentheses")]
    BadCharacter,
    #[error(
        "phone number must be an 11-digit mobile starting 13–19, or a landline with its area code (e.g. 0755-12345678)"
    )]
    BadShape,
}

impl PhoneNumber {
    /// Parses what people type or what Excel exports: spaces, dashes, parentheses and a `+86`
    /// / `86` prefix are accepted; a number Excel turned into `13812341234.0` is not.
    pub fn parse(text: &str) -> Result<Self, PhoneError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'))
        {
            return Err(PhoneError::BadCharacter);
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let digits = match digits.strip_prefix("86") {
            Some(rest) if text.starts_with('+') || rest.len() == 11 => rest.to_owned(),
            _ => digits,
        };
        if digits.len() == 11
            && digits.starts_with('1')
            && matches!(digits.as_bytes()[1], b'3'..=b'9')
        {
            return Ok(PhoneNumber(digits));
        }
        Self::parse_landline(text, &digits).ok_or(PhoneError::BadShape)
    }

    /// Landlines keep the area code apart: `010` and `02x` codes have 3 digits, the rest 4.
    fn parse_landline(text: &str, digits: &str) -> Option<Self> {
        if !digits.starts_with('0') {
            return None;
        }
        let area_len = if digits.starts_with("01") || digits.starts_with("02") {
            3
        } else {
            4
        };
        // An extension is only recognisable when written after a second separator.
        let groups: Vec<String> = text
            .split(['-', ' ', '(', ')'])
            .filter(|g| !g.is_empty())
            .map(|g| g.chars().filter(char::is_ascii_digit).collect())
            .collect();
        let (main, extension) = match groups.as_slice() {
            [area, number, ext] if area.len() == area_len => (format!("{area}{number}"), Some(ext)),
            _ => (digits.to_owned(), None),
        };
        let number = main.get(area_len..)?;
        if !(7..=8).contains(&number.len()) || number.starts_with('0') {
            return None;
        }
        let area = &main[..area_len];
        Some(PhoneNumber(match extension {
            Some(ext) if (1..=6).contains(&ext.len()) => format!("{area}-{number}-{ext}"),
            Some(_) => return None,
            None => format!("{area}-{number}"),
        }))
    }

    /// The full number in normal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden, as `138****1234` or `0755-****5678`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks a stored phone number for display to roles that do not call customers; text that is not
/// a phone number is hidden entirely.
pub fn mask_phone(text: &str) -> String {
    PhoneNumber::parse(text).map_or_else(|_| "****".to_owned(), |p| p.masked())
}

/// Masks any phone-like text, keeping the first three and last four characters of a mobile and
/// the area code and last four digits of a landline. Text too short to mask is hidden entirely.
pub(crate) fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if let Some(dash) = text.find('-') {
        let area = &text[..dash];
        let rest: Vec<char> = text[dash + 1..].chars().filter(|c| *c != '-').collect();
        let keep = rest.len().saturating_sub(4);
        let tail: String = rest[keep..].iter().collect();
        return format!("{area}-****{tail}");
    }
    if chars.len() < 8 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_normalised() {
        for text in [
            "13812341234",
            " 138 1234 1234 ",
            "138-1234-1234",
            "+86 138 1234 1234",
            "8613812341234",
        ] {
            assert_eq!(
                PhoneNumber::parse(text).unwrap().as_str(),
                "13812341234",
                "{text}"
            );
        }
    }

    #[test]
    fn landlines_keep_their_area_code() {
        assert_eq!(
            PhoneNumber::parse("0755-12345678").unwrap().as_str(),
            "0755-12345678"
        );
        assert_eq!(
            PhoneNumber::parse("(010) 1234567").unwrap().as_str(),
            "010-1234567"
        );
        assert_eq!(
            PhoneNumber::parse("075512345678").unwrap().as_str(),
            "0755-12345678"
        );
        assert_eq!(
            PhoneNumber::parse("0755-12345678-801").unwrap().as_str(),
            "0755-12345678-801"
        );
    }

    #[test]
    fn bad_numbers_say_why() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(
            PhoneNumber::parse("1.3812341234E10"),
            Err(PhoneError::BadCharacter)
        );
        assert_eq!(PhoneNumber::parse("12812341234"), Err(PhoneError::BadShape));
        assert_eq!(PhoneNumber::parse("1381234123"), Err(PhoneError::BadShape));
        assert_eq!(PhoneNumber::parse("0755-0123"), Err(PhoneError::BadShape));
    }

    #[test]
    fn masking_hides_the_middle_and_debug_never_shows_the_number() {
        let mobile = PhoneNumber::parse("13812341234").unwrap();
        assert_eq!(mobile.masked(), "138****1234");
        assert_eq!(format!("{mobile:?}"), "PhoneNumber(138****1234)");
        let landline = PhoneNumber::parse("0755-12345678").unwrap();
        assert_eq!(landline.masked(), "0755-****5678");
        assert_eq!(mask("123"), "****");
    }
}
