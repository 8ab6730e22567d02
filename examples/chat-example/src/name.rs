//! The user-name rule, applied wherever a name enters (`username`, `from`, `to`):
//! [`normalize_name`].

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory as _};

/// Letters (`Lo`, `So`) that render as blank space, so a name made of them looks empty or like
/// another one; `Default_Ignorable_Code_Point` in Unicode, but not `Cf`.
const BLANK_LETTERS: &[char] = &['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}', '\u{2800}'];

/// Why a user name was refused; its `Display` completes "parameter NAME ...".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing left after trimming.
    Empty,
    /// More characters than the limit (the limit).
    TooLong(usize),
    /// A `Cc` character.
    Control,
    /// A `Cf`, `Zl` or `Zp` character: invisible, or reorders or breaks the text.
    Invisible(char),
    /// A `Co`, `Cs` or `Cn` code point.
    Unassigned(char),
    /// A combining mark with nothing to combine with.
    LeadingMark,
    /// A compatibility character (NFKC changes it), e.g. a full-width letter.
    Compatibility(char),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("is empty"),
            NameError::TooLong(max) => write!(f, "is longer than {max} characters"),
            NameError::Control => f.write_str("contains a control character"),
            NameError::Invisible(c) => write!(
                f,
                "contains an invisible or formatting character (U+{:04X})",
                u32::from(*c)
            ),
            NameError::Unassigned(c) => write!(
                f,
                "contains an unassigned or private-use code point (U+{:04X})",
                u32::from(*c)
            ),
            NameError::LeadingMark => {
                f.write_str("has a combining mark at the start or after a space")
            }
            NameError::Compatibility(c) => write!(
                f,
                "contains a compatibility character such as a full-width letter (U+{:04X})",
                u32::from(*c)
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// The name to use for `raw` (at most `max_chars` characters), or why it is refused.
///
/// Without this rule, `ｈｅｒｔｚ` (full-width), `hertz\u{200B}` (zero-width space) and `hertz `
/// sit next to `hertz` in `/chat/users` and look the same. A name is taken in this order:
///
/// 1. normalised to NFC (so `e` + U+0301 and `é` are the same name), then trimmed of spaces
///    at both ends (general category `Zs`: U+0020, U+00A0, U+3000, ...; tabs, newlines and
///    other controls are refused below, not trimmed); what is left is the name used
///    everywhere;
/// 2. refused (400) when it is empty, longer than `max_chars` characters
///    ([`Config::max_name_chars`](crate::Config::max_name_chars)), or holds
///    - a control character (general category `Cc`: C0, DEL, C1),
///    - a format character (`Cf`: zero-width space/joiners U+200B-U+200D, the BOM U+FEFF, the
///      bidi marks and overrides U+200E-U+200F, U+202A-U+202E, U+2066-U+2069, tags, ...) or a
///      line or paragraph separator (`Zl`, `Zp`),
///    - a private-use, surrogate or unassigned code point (`Co`, `Cs`, `Cn`),
///    - one of the letters that draw nothing (Hangul fillers U+115F, U+1160, U+3164, U+FFA0,
///      the blank Braille pattern U+2800),
///    - a combining mark at the start or right after a space (a lone or leading mark), or
///    - anything that NFKC changes: full-width and half-width forms (`ｈ`), ligatures (`ﬁ`),
///      super- and subscripts, other spaces than U+0020 inside the name, and the like.
///
/// Not covered: look-alikes across scripts (Cyrillic `а` for Latin `a`); in the open mode
/// names are not identities anyway (see the README).
///
/// ```
/// use chat_example::{NameError, normalize_name};
///
/// assert_eq!(normalize_name("  hertz\u{3000}", 64).as_deref(), Ok("hertz"));
/// assert_eq!(normalize_name("re\u{301}mi", 64).as_deref(), Ok("rémi"));
/// assert_eq!(normalize_name("hertz\u{200B}", 64), Err(NameError::Invisible('\u{200B}')));
/// assert!(normalize_name("ｈｅｒｔｚ", 64).is_err());
/// ```
///
/// # Errors
///
/// [`NameError`] for each refused shape listed above.
pub fn normalize_name(raw: &str, max_chars: usize) -> Result<String, NameError> {
    let nfc: String = raw.nfc().collect();
    let name = nfc.trim_matches(|c: char| c.general_category() == GeneralCategory::SpaceSeparator);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > max_chars {
        return Err(NameError::TooLong(max_chars));
    }
    let mut previous = None;
    for c in name.chars() {
        match c.general_category() {
            GeneralCategory::Control => return Err(NameError::Control),
            GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator => return Err(NameError::Invisible(c)),
            GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned => return Err(NameError::Unassigned(c)),
            _ if BLANK_LETTERS.contains(&c) => return Err(NameError::Invisible(c)),
            _ if c.general_category_group() == GeneralCategoryGroup::Mark
                && previous.is_none_or(char::is_whitespace) =>
            {
                return Err(NameError::LeadingMark);
            }
            _ => {}
        }
        previous = Some(c);
    }
    if !name.nfkc().eq(name.chars()) {
        // Name the first character that NFKC changes on its own; a change that only shows in
        // context (none is known for NFC input) falls back to the first character.
        let culprit = name
            .chars()
            .find(|&c| !std::iter::once(c).nfkc().eq(std::iter::once(c)))
            .or_else(|| name.chars().next())
            .unwrap_or(' ');
        return Err(NameError::Compatibility(culprit));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> NameError {
        normalize_name(raw, 64).unwrap_err()
    }

    #[test]
    fn accepts_ordinary_names_in_any_script() {
        for name in [
            "hertz",
            "Alice Smith",
            "José",
            "Zoë",
            "渡辺",
            "Дмитрий",
            "a.b-c_d",
            "👍",
        ] {
            assert_eq!(normalize_name(name, 64).as_deref(), Ok(name), "{name}");
        }
    }

    #[test]
    fn normalises_to_nfc_and_trims() {
        assert_eq!(normalize_name("Zoe\u{308}", 64).as_deref(), Ok("Zoë"));
        assert_eq!(normalize_name("\t", 64), Err(NameError::Control));
        assert_eq!(normalize_name("a\n", 64), Err(NameError::Control));
        assert_eq!(normalize_name("a\u{85}", 64), Err(NameError::Control));
        assert_eq!(
            normalize_name("\u{2028}a", 64),
            Err(NameError::Invisible('\u{2028}'))
        );
        assert_eq!(
            normalize_name(" \u{3000}hertz\u{A0} ", 64).as_deref(),
            Ok("hertz")
        );
        assert_eq!(normalize_name("   ", 64), Err(NameError::Empty));
    }

    #[test]
    fn refuses_each_shape() {
        assert_eq!(refused("a\u{7}"), NameError::Control);
        assert_eq!(refused("a\nb"), NameError::Control);
        assert_eq!(refused("a\u{85}b"), NameError::Control);
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{FEFF}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{E0041}',
            '\u{2028}',
            '\u{2029}',
            '\u{AD}',
        ] {
            assert_eq!(
                refused(&format!("her{c}tz")),
                NameError::Invisible(c),
                "{c:?}"
            );
        }
        assert_eq!(refused("a\u{E000}"), NameError::Unassigned('\u{E000}'));
        assert_eq!(refused("a\u{10FFFF}"), NameError::Unassigned('\u{10FFFF}'));
        assert_eq!(refused("\u{3164}"), NameError::Invisible('\u{3164}'));
        assert_eq!(refused("\u{301}"), NameError::LeadingMark);
        assert_eq!(refused("\u{301}hertz"), NameError::LeadingMark);
        assert_eq!(refused(" \u{301}hertz"), NameError::LeadingMark);
        assert_eq!(refused("her \u{301}tz"), NameError::LeadingMark);
        assert_eq!(refused("ｈｅｒｔｚ"), NameError::Compatibility('ｈ'));
        assert_eq!(refused("ﬁsh"), NameError::Compatibility('ﬁ'));
        assert_eq!(refused("x²"), NameError::Compatibility('²'));
        assert_eq!(refused("her\u{A0}tz"), NameError::Compatibility('\u{A0}'));
        assert_eq!(refused(&"n".repeat(65)), NameError::TooLong(64));
    }

    #[test]
    fn marks_that_combine_are_kept() {
        // Decomposed forms that NFC cannot compose still have a base character.
        assert!(normalize_name("q\u{301}", 64).is_ok());
        assert!(normalize_name("👍\u{FE0F}", 64).is_ok());
    }

    #[test]
    fn messages_complete_a_sentence_in_lower_case_without_a_full_stop() {
        for error in [
            refused(""),
            refused("a\u{7}"),
            refused("a\u{200B}"),
            refused("\u{301}"),
            refused("ｈ"),
        ] {
            let text = error.to_string();
            assert!(
                !text.ends_with('.') && text.starts_with(char::is_lowercase),
                "{text}"
            );
        }
    }
}
