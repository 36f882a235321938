//! Free-text fields: [`Title`] and [`Description`]. Lengths count characters (Unicode
//! scalar values), never bytes: "ü" is one character, as a user counts it.

use std::fmt;

use crate::error::{Rule, Violation};

/// A task's title: trimmed, 1 to [`Title::MAX_CHARS`] characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Title(String);

impl Title {
    /// The longest title, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims `raw` and checks it.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Violation::new(Rule::MinLength, "must not be blank"));
        }
        let chars = trimmed.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(Violation::new(
                Rule::MaxLength,
                format!("must be at most {} characters (got {chars})", Self::MAX_CHARS),
            ));
        }
        // A title is one line of text; a newline or escape code in it breaks lists and
        // notification subjects.
        if trimmed.chars().any(char::is_control) {
            return Err(Violation::new(Rule::ControlCharacters, "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's description: up to [`Description::MAX_CHARS`] characters, kept as written
/// (whitespace and line breaks may be meaningful), without NUL characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Description(String);

impl Description {
    /// The longest description, in characters.
    pub const MAX_CHARS: usize = 4_000;

    /// Checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let chars = raw.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(Violation::new(
                Rule::MaxLength,
                format!("must be at most {} characters (got {chars})", Self::MAX_CHARS),
            ));
        }
        // PostgreSQL text cannot hold NUL; refusing it here beats a 500 from the database.
        if raw.contains('\0') {
            return Err(Violation::new(Rule::ControlCharacters, "must not contain NUL characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The description.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype {
    ($($ty:ident),*) => {$(
        impl TryFrom<&str> for $ty {
            type Error = Violation;

            fn try_from(raw: &str) -> Result<Self, Self::Error> {
                Self::parse(raw)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Violation;

            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }
    )*};
}

string_newtype!(Title, Description);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_of_200_characters_is_accepted_and_201_is_too_long() {
        let ok = "é".repeat(200);
        let too_long = "é".repeat(201);

        assert_eq!(Title::parse(&ok).map(|t| t.as_str().chars().count()), Ok(200));
        assert_eq!(Title::parse(&too_long).map_err(|v| v.rule), Err(Rule::MaxLength));
    }

    #[test]
    fn a_title_counts_characters_not_bytes() {
        // 200 four-byte characters: 800 bytes, still 200 characters.
        let emoji = "🦀".repeat(200);

        assert!(Title::parse(&emoji).is_ok());
    }

    #[test]
    fn a_title_is_trimmed_before_it_is_measured() {
        let padded = format!("  {}  ", "a".repeat(200));

        let title = Title::parse(&padded);

        assert_eq!(title.map(|t| t.as_str().len()), Ok(200));
    }

    #[test]
    fn a_blank_title_is_rejected_as_too_short() {
        assert_eq!(Title::parse(" \t\n ").map_err(|v| v.rule), Err(Rule::MinLength));
        assert_eq!(Title::parse("").map_err(|v| v.rule), Err(Rule::MinLength));
    }

    #[test]
    fn a_title_with_a_line_break_inside_is_rejected() {
        assert_eq!(Title::parse("two\nlines").map_err(|v| v.rule), Err(Rule::ControlCharacters));
    }

    #[test]
    fn a_description_of_4000_characters_is_accepted_and_4001_is_too_long() {
        assert!(Description::parse(&"ß".repeat(4_000)).is_ok());
        assert_eq!(Description::parse(&"ß".repeat(4_001)).map_err(|v| v.rule), Err(Rule::MaxLength));
    }

    #[test]
    fn a_description_keeps_its_whitespace_and_line_breaks() {
        let text = "  first\n\n  second  ";

        assert_eq!(Description::parse(text).map(String::from), Ok(text.to_owned()));
    }

    #[test]
    fn a_description_with_a_nul_character_is_rejected() {
        assert_eq!(Description::parse("a\0b").map_err(|v| v.rule), Err(Rule::ControlCharacters));
    }
}
