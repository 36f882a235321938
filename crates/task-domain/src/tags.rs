//! [`Tags`]: up to 20 distinct, lower-case labels.

use std::collections::HashMap;

use crate::error::{FieldError, Rule, ValidationErrors};

/// A task's tags: at most [`Tags::MAX_ITEMS`], each trimmed, lower-cased and 1 to
/// [`Tags::MAX_CHARS`] characters, all distinct. Kept in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Tags(Vec<String>);

impl Tags {
    /// The most tags a task can have.
    pub const MAX_ITEMS: usize = 20;
    /// The longest tag, in characters (after normalising).
    pub const MAX_CHARS: usize = 50;

    /// Normalises each tag (trim, lower-case) and checks them all; errors name the field
    /// `tags` (too many) or `tags[i]` (that tag).
    ///
    /// Two tags that are equal after normalising (`Work` and `work `) are an error naming
    /// the second one, not silently merged: the client sent something it did not mean.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if raw.len() > Self::MAX_ITEMS {
            errors.push(FieldError::new(
                "tags",
                Rule::MaxItems,
                format!("must have at most {} tags (got {})", Self::MAX_ITEMS, raw.len()),
            ));
        }
        let mut tags = Vec::with_capacity(raw.len());
        let mut first_seen: HashMap<String, usize> = HashMap::new();
        for (i, tag) in raw.iter().enumerate() {
            let field = format!("tags[{i}]");
            let tag = tag.as_ref().trim().to_lowercase();
            let chars = tag.chars().count();
            if chars == 0 {
                errors.push(FieldError::new(field, Rule::MinLength, "must not be blank"));
            } else if chars > Self::MAX_CHARS {
                errors.push(FieldError::new(
                    field,
                    Rule::MaxLength,
                    format!("must be at most {} characters (got {chars})", Self::MAX_CHARS),
                ));
            } else if tag.chars().any(char::is_control) {
                errors.push(FieldError::new(field, Rule::ControlCharacters, "must not contain control characters"));
            } else if let Some(first) = first_seen.get(&tag) {
                errors.push(FieldError::new(
                    field,
                    Rule::Duplicate,
                    format!("duplicates tag \"{tag}\" (tags[{first}]); tags are compared in lower case"),
                ));
            } else {
                first_seen.insert(tag.clone(), i);
                tags.push(tag);
            }
        }
        errors.into_result(|| Self(tags))
    }

    /// The tags, in order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The tags, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether `tag` (normalised the same way) is one of them.
    pub fn contains(&self, tag: &str) -> bool {
        let tag = tag.trim().to_lowercase();
        self.0.contains(&tag)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Tags> for Vec<String> {
    fn from(tags: Tags) -> Self {
        tags.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("tag-{i}")).collect()
    }

    #[test]
    fn tags_are_trimmed_and_lower_cased_in_the_order_given() {
        let tags = Tags::parse(&["  Work ", "ÜBER", "home"]);

        assert_eq!(tags.map(Vec::from), Ok(vec!["work".to_owned(), "über".to_owned(), "home".to_owned()]));
    }

    #[test]
    fn twenty_tags_are_accepted_and_twenty_one_are_too_many() {
        assert_eq!(Tags::parse(&numbered(20)).map(|t| t.len()), Ok(20));

        let errors = Tags::parse(&numbered(21)).err().unwrap_or_default();

        assert_eq!(errors.errors(), [FieldError::new("tags", Rule::MaxItems, "must have at most 20 tags (got 21)")]);
    }

    #[test]
    fn a_tag_of_50_characters_is_accepted_and_51_is_too_long() {
        let fifty = "x".repeat(50);
        let fifty_one = "x".repeat(51);

        assert!(Tags::parse(&[fifty]).is_ok());
        let errors = Tags::parse(&["ok".to_owned(), fifty_one]).err().unwrap_or_default();
        assert!(errors.has("tags[1]", Rule::MaxLength), "{errors}");
    }

    #[test]
    fn a_blank_tag_is_rejected_naming_its_index() {
        let errors = Tags::parse(&["a", "  "]).err().unwrap_or_default();

        assert!(errors.has("tags[1]", Rule::MinLength), "{errors}");
    }

    #[test]
    fn tags_equal_after_normalising_are_a_duplicate_error_naming_the_tag() {
        let errors = Tags::parse(&["Work", "home", " work"]).err().unwrap_or_default();

        assert_eq!(errors.len(), 1);
        let error = &errors.errors()[0];
        assert_eq!((error.field.as_str(), error.rule), ("tags[2]", Rule::Duplicate));
        assert!(error.message.contains("\"work\"") && error.message.contains("tags[0]"), "{}", error.message);
    }

    #[test]
    fn every_bad_tag_is_reported_not_just_the_first() {
        let errors = Tags::parse(&["", "a", "a", "y".repeat(51).as_str()]).err().unwrap_or_default();

        let fields: Vec<_> = errors.errors().iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert_eq!(fields, [("tags[0]", Rule::MinLength), ("tags[2]", Rule::Duplicate), ("tags[3]", Rule::MaxLength)]);
    }
}
